using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Transport.Diagnostics;

/// <summary>Certificate events, with stable ids. Thumbprints and dates only; never key material.</summary>
internal sealed partial class CertificateLog
{
    private readonly ILogger _logger;

    private CertificateLog(ILogger logger) => _logger = logger;

    public static CertificateLog Create(ILoggerFactory? factory)
        => new((factory ?? NullLoggerFactory.Instance).CreateLogger("Broker.Transport.Certificates"));

    [LoggerMessage(EventId = 100, EventName = "CertificateRotated", Level = LogLevel.Information, Message = "The {Role} certificate rotated: {OldThumbprint} (valid until {OldNotAfter:u}) -> {NewThumbprint}, valid until {NotAfter:u}.")]
    public partial void LeafRenewed(string role, string oldThumbprint, DateTimeOffset oldNotAfter, string newThumbprint, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 101, EventName = "RotationFailed", Level = LogLevel.Error, Message = "Renewing the {Role} certificate failed (attempt {Attempt}); the current one stays in use, retrying in {RetryIn}: {Error}")]
    public partial void RenewalFailed(string role, int attempt, TimeSpan retryIn, string error);

    [LoggerMessage(EventId = 102, EventName = "RootRolloverStarted", Level = LogLevel.Information, Message = "The internal root rolled over: {OldThumbprint} -> {NewThumbprint}; both are trusted until {OldRootRetires:u}, when the last leaf the old root signed expires.")]
    public partial void RootRolloverStarted(string oldThumbprint, string newThumbprint, DateTimeOffset oldRootRetires);

    [LoggerMessage(EventId = 103, EventName = "RootRolloverFinished", Level = LogLevel.Information, Message = "The old internal root {Thumbprint} left the trust bundle: nothing it signed remains valid.")]
    public partial void RootRetired(string thumbprint);

    [LoggerMessage(EventId = 104, EventName = "RootRolloverFailed", Level = LogLevel.Error, Message = "Renewing the internal root {Thumbprint} failed; it stays in use, retrying: {Error}")]
    public partial void RootRolloverFailed(string thumbprint, string error);

    [LoggerMessage(EventId = 110, EventName = "CertificateReloaded", Level = LogLevel.Information, Message = "Certificates reloaded from {Folder}: {OldThumbprint} (valid until {OldNotAfter:u}) -> {NewThumbprint}, valid until {NotAfter:u}.")]
    public partial void FolderReloaded(string folder, string oldThumbprint, DateTimeOffset oldNotAfter, string newThumbprint, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 111, EventName = "CertificateReloadRefused", Level = LogLevel.Warning, Message = "The certificates in {Folder} changed but were refused; the last good set ({Thumbprint}) stays in use: {Error}")]
    public partial void FolderRefused(string folder, string thumbprint, string error);
}
