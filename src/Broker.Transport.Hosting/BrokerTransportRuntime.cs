using System.Diagnostics.Metrics;
using System.Net;
using Broker.Transport.Certificates;
using Broker.Transport.Configuration;
using Broker.Transport.Connections;
using Broker.Transport.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broker.Transport.Hosting;

/// <summary>
/// What <c>AddBrokerTransport</c> builds from the validated options: the broker config, each side's
/// certificate source (a Secret folder, or the embedded issuer), the listener and the connector. Made once,
/// at start, by <see cref="BrokerTransportService"/>; disposed with the host.
/// </summary>
internal sealed class BrokerTransportRuntime : IAsyncDisposable
{
    private readonly BrokerTransportOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly IMeterFactory _meters;
    private readonly TransportEnvironment _environment;
    private readonly Lock _gate = new();
    private readonly List<IDisposable> _owned = [];
    private readonly List<(TransportSide Side, ICertificateSource Source)> _sources = [];
    private InternalIssuer? _issuer;
    private TransportListener? _listener;
    private TransportConnector? _connector;
    private bool _disposed;

    public BrokerTransportRuntime(IOptions<BrokerTransportOptions> options, ILoggerFactory loggers, IMeterFactory meters, TimeProvider time)
    {
        _options = options.Value; // Validated here, if ValidateOnStart has not already.
        _loggers = loggers;
        _meters = meters;
        Time = time;
        // One context for every part the host builds: its logger factory, its meter factory, its one clock.
        _environment = new TransportEnvironment { LoggerFactory = loggers, MeterFactory = meters, TimeProvider = time };
        var file = ReadBrokerConfig(_options);
        Config = file?.Config ?? BrokerConfig.Default;
        var log = HostingLog.Create(loggers);
        foreach (var warning in file?.Warnings ?? [])
        {
            log.ConfigWarning(warning.ToString());
        }
    }

    /// <summary>The broker config in force: the file's, the inline one, or the defaults.</summary>
    public BrokerConfig Config { get; }

    public TimeProvider Time { get; }

    public bool HasListener => _options.Listen is not null;

    public bool HasConnector => _options.Connector;

    /// <summary>The certificate sources in use, by side, for the health check.</summary>
    public IReadOnlyList<(TransportSide Side, ICertificateSource Source)> Sources
    {
        get
        {
            lock (_gate)
            {
                return [.. _sources];
            }
        }
    }

    /// <summary>Reads the broker config the options name, with the config file's parser; null when none is given.</summary>
    /// <exception cref="BrokerConfigException">The config is invalid; the parser's message lists every error.</exception>
    public static BrokerConfigFile? ReadBrokerConfig(BrokerTransportOptions options)
    {
        if (options.ConfigFile is { } path)
        {
            return BrokerConfigFile.Load(path);
        }

        return options.BrokerConfig is { } json ? BrokerConfigFile.Parse(json) : null;
    }

    /// <summary>Loads the certificates and binds the listener: whatever can fail does so at start.</summary>
    public void Start()
    {
        if (_options.Listen is not null)
        {
            _ = GetListener();
        }

        if (_options.Connector)
        {
            _ = GetConnector();
        }
    }

    public TransportListener GetListener()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_listener is null)
            {
                var endpoint = IPEndPoint.Parse(_options.Listen ?? throw new InvalidOperationException($"No listener is configured: set {nameof(BrokerTransportOptions)}.{nameof(BrokerTransportOptions.Listen)}."));
                var options = new TransportListenerOptions
                {
                    HandshakeTimeout = _options.HandshakeTimeout,
                    MaxConnectionAge = _options.MaxConnectionAge,
                    DrainGrace = _options.DrainGrace,
                    Environment = _environment,
                };
                Config.ApplyTo(options);
                foreach (var identity in _options.AllowedClientIdentities)
                {
                    options.AllowedClientIdentities.Add(identity);
                }

                options.Certificates = Source(backend: true);
                _options.ConfigureListener?.Invoke(options);
                _listener = TransportListener.Bind(endpoint, options);
            }

            return _listener;
        }
    }

    public TransportConnector GetConnector()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connector is null)
            {
                var options = new TransportConnectorOptions
                {
                    HandshakeTimeout = _options.HandshakeTimeout,
                    MaxConnectionAge = _options.MaxConnectionAge,
                    DrainGrace = _options.DrainGrace,
                    ServerIdentity = _options.ServerIdentity,
                    Environment = _environment,
                };
                Config.ApplyTo(options);
                options.Certificates = Source(backend: false);
                _options.ConfigureConnector?.Invoke(options);
                _connector = new TransportConnector(options);
            }

            return _connector;
        }
    }

    /// <summary>Stops the listener (pending <c>AcceptAsync</c> calls return null) and the issuer's renewals.</summary>
    public async ValueTask DisposeAsync()
    {
        TransportListener? listener;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            listener = _listener;
        }

        if (listener is not null)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    /// <summary>A side's certificates: its Secret folder when one is set, else the embedded issuer (started on first need).</summary>
    private ICertificateSource? Source(bool backend)
    {
        if (Config.EncryptInternalTraffic == EncryptInternalTraffic.Disabled)
        {
            return null;
        }

        var side = backend ? TransportSide.Backend : TransportSide.Frontend;
        ICertificateSource source;
        if ((backend ? _options.BackendCertificateFolder : _options.FrontendCertificateFolder) is { } folder)
        {
            var secret = SecretFolderCertificateSource.Open(folder, new SecretFolderOptions
            {
                TrustBundlePath = _options.TrustBundlePath,
                RootHandover = _options.RootHandover,
                Environment = _environment,
            });
            _owned.Add(secret);
            source = secret;
        }
        else
        {
            var issuer = Issuer();
            source = backend ? issuer.Backend : issuer.Frontend;
        }

        _sources.Add((side, source));
        return source;
    }

    private InternalIssuer Issuer()
    {
        if (_issuer is null)
        {
            var options = new InternalIssuerOptions
            {
                Policy = Config.InternalCerts,
                Environment = _environment,
            };
            Replace(options.BackendNames, _options.BackendNames);
            Replace(options.FrontendNames, _options.FrontendNames);
            _issuer = InternalIssuer.Start(options);
            _owned.Add(_issuer);
        }

        return _issuer;
    }

    private static void Replace(IList<string> defaults, IList<string> given)
    {
        if (given.Count == 0)
        {
            return;
        }

        defaults.Clear();
        foreach (var name in given)
        {
            defaults.Add(name);
        }
    }
}
