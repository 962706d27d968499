using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Transport.Diagnostics;

/// <summary>
/// The trust bundle's events and a root handover's steps (a Secret folder source's), with stable ids (112 to 119),
/// in a category of their own, <c>Broker.Transport.Certificates.Trust</c>, so that a host can show them apart from
/// the leaf reloads. Roots by subject and thumbprint; never key material.
/// </summary>
internal sealed partial class TrustLog
{
    public const string Category = "Broker.Transport.Certificates.Trust";

    private readonly ILogger _logger;

    private TrustLog(ILogger logger) => _logger = logger;

    public static TrustLog Create(ILoggerFactory? factory)
        => new((factory ?? NullLoggerFactory.Instance).CreateLogger(Category));

    [LoggerMessage(EventId = 112, EventName = "TrustBundleReloaded", Level = LogLevel.Information, Message = "The trust bundle changed ({Source}): roots added: {Added}; roots removed: {Removed}.")]
    public partial void BundleReloaded(string source, string added, string removed);

    [LoggerMessage(EventId = 113, EventName = "RootHandoverStarted", Level = LogLevel.Information, Message = "Root handover in {Folder}: the new certificate {NewThumbprint} chains to {Root}, trusted here since {RootTrustedSince:u}; it is trusted now, and the previous certificate {OldThumbprint} stays in use until {SwitchAt:u} (RootHandover {RootHandover}), so that peers trust the new root before they meet a leaf it signed.")]
    public partial void HandoverStarted(string folder, string newThumbprint, string root, DateTimeOffset rootTrustedSince, string oldThumbprint, DateTimeOffset switchAt, TimeSpan rootHandover);

    [LoggerMessage(EventId = 114, EventName = "RootHandoverSwitched", Level = LogLevel.Information, Message = "Root handover in {Folder}: the certificate {NewThumbprint} (valid until {NotAfter:u}, from {Root}) is in use now, in place of {OldThumbprint}; roots this side no longer uses stay trusted until {EndsAt:u}.")]
    public partial void HandoverSwitched(string folder, string newThumbprint, DateTimeOffset notAfter, string root, string oldThumbprint, DateTimeOffset endsAt);

    [LoggerMessage(EventId = 115, EventName = "RootsRetired", Level = LogLevel.Information, Message = "{Folder}: {Roots} left the trust bundle, RootHandover ({RootHandover}) after this side stopped using them; a peer whose chain ends in one is refused from now on.{Finished}")]
    public partial void RootsRetired(string folder, string roots, TimeSpan rootHandover, string finished);

    [LoggerMessage(EventId = 116, EventName = "RootHandoverInterrupted", Level = LogLevel.Warning, Message = "Root handover in {Folder} interrupted by another update: the certificate {PendingThumbprint} that was waiting is dropped; {Outcome}")]
    public partial void HandoverInterrupted(string folder, string pendingThumbprint, string outcome);

    [LoggerMessage(EventId = 117, EventName = "RootHandoverCutShort", Level = LogLevel.Warning, Message = "Root handover in {Folder}: the previous certificate {OldThumbprint} expires at {OldNotAfter:u}, before the handover's switch ({SwitchAt:u}); the certificate {NewThumbprint} from {Root} is in use now. Peers that do not trust that root yet refuse it until their own update.")]
    public partial void HandoverCutShort(string folder, string oldThumbprint, DateTimeOffset oldNotAfter, DateTimeOffset switchAt, string newThumbprint, string root);

    [LoggerMessage(EventId = 118, EventName = "TrustBundleReloadRefused", Level = LogLevel.Warning, Message = "The trust bundle {Path} changed but was refused, or could not be read; the roots in use stay: {Error}")]
    public partial void BundleRefused(string path, string error);

    [LoggerMessage(EventId = 119, EventName = "RootSwitchedAtOnce", Level = LogLevel.Warning, Message = "{Folder}: the new certificate {NewThumbprint} chains to {Root}, which was not trusted here before, and RootHandover is 0 (the emergency setting): it is in use now, in place of {OldThumbprint}, and the roots removed are no longer trusted ({Removed}). Peers that do not trust the new root yet refuse this side until their own update.")]
    public partial void SwitchedAtOnce(string folder, string newThumbprint, string root, string oldThumbprint, string removed);
}
