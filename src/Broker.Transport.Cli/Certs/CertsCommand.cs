using System.CommandLine;
using Broker.Transport.Certificates;
using Broker.Transport.Cli.CommandLine;

namespace Broker.Transport.Cli.Certs;

/// <summary><c>certs issue</c>, <c>certs rotate</c> and <c>certs inspect</c>: a development PKI in Kubernetes Secret layout.</summary>
internal static class CertsCommand
{
    private static readonly TimeSpan DefaultDuration = TimeSpan.FromHours(240);
    private static readonly TimeSpan DefaultOverlap = TimeSpan.FromSeconds(15);

    public static Command Create()
    {
        var certs = new Command("certs", "Make, rotate and inspect a development PKI in Kubernetes TLS Secret layout.");
        certs.Subcommands.Add(CreateIssue());
        certs.Subcommands.Add(CreateRotate());
        certs.Subcommands.Add(CreateInspect());
        return certs;
    }

    private static Command CreateIssue()
    {
        var outDir = new Option<string>("--out") { Description = "Where to write ca/, backend/ and frontend/.", HelpName = "DIR", Required = true };
        var algorithm = new Option<PrivateKeyAlgorithm>("--algorithm")
        {
            Description = "The key algorithm of the root and the leaves: Ec256 (default), Ec384, Ec521, Rsa2048, Rsa4096 or Rsa8192.",
            HelpName = "ALGORITHM",
            DefaultValueFactory = _ => PrivateKeyAlgorithm.Ec256,
            CustomParser = result =>
            {
                var text = result.Tokens[0].Value;
                if (Enum.TryParse<PrivateKeyAlgorithm>(text, ignoreCase: true, out var value) && Enum.IsDefined(value) && !char.IsDigit(text[0]))
                {
                    return value;
                }

                result.AddError($"--algorithm: '{text}' is not one of Ec256, Ec384, Ec521, Rsa2048, Rsa4096, Rsa8192.");
                return default;
            },
        };
        var duration = CliOptions.Duration("--duration", "The leaves' lifetime. Default 240h.");
        var caDuration = CliOptions.Duration("--ca-duration", "The root's lifetime. Default: the larger of 8760h and three times --duration, as the embedded issuer.");
        var backendNames = new Option<string[]>("--backend-name")
        {
            Description = "A name of the backend's certificate (DNS name, IP address or URI); the first is also its common name. Repeatable. Default: localhost and 127.0.0.1.",
            HelpName = "NAME",
        };
        var frontendNames = new Option<string[]>("--frontend-name")
        {
            Description = "A name of the frontend's certificate, as --backend-name. Repeatable. Default: frontend.",
            HelpName = "NAME",
        };
        var issue = new Command("issue", "Make a new root, a backend leaf (server authentication) and a frontend leaf (client authentication); the leaves go in Secret folders laid out as kubelet mounts them.")
        {
            outDir, algorithm, duration, caDuration, backendNames, frontendNames,
        };
        issue.SetAction(parse =>
        {
            var leaf = parse.GetValue(duration) ?? DefaultDuration;
            var root = parse.GetValue(caDuration) ?? DevPki.DefaultCaDuration(leaf);
            if (root < leaf)
            {
                throw new UsageException($"--ca-duration ({Configuration.GoDuration.Format(root)}) is shorter than --duration ({Configuration.GoDuration.Format(leaf)}): a leaf cannot outlive its root.");
            }

            var dir = parse.GetRequiredValue(outDir);
            var backend = parse.GetValue(backendNames) is { Length: > 0 } b ? b : ["localhost", "127.0.0.1"];
            var frontend = parse.GetValue(frontendNames) is { Length: > 0 } f ? f : ["frontend"];
            DevPki.Issue(dir, parse.GetValue(algorithm), leaf, root, backend, frontend);
            Console.Out.WriteLine($"wrote {Path.Combine(dir, DevPki.CaFolder)}/ (root), {Path.Combine(dir, DevPki.BackendFolder)}/ ({string.Join(", ", backend)}), {Path.Combine(dir, DevPki.FrontendFolder)}/ ({string.Join(", ", frontend)})");
            return ExitCodes.Success;
        });
        return issue;
    }

    private static Command CreateRotate()
    {
        var dir = new Option<string>("--dir") { Description = "A folder made by 'certs issue'.", HelpName = "DIR", Required = true };
        var newCa = new Option<bool>("--new-ca") { Description = "Make a new root first: each ca.crt holds the new root beside the old one, then the leaves from the new root go in, then the old root leaves every ca.crt, each step --overlap after the one before." };
        var overlap = CliOptions.Duration("--overlap", "With --new-ca: how long each step waits for every reader to reload (the two-root bundle before the new leaves go in, so every reader trusts the new root before it meets a leaf it signed; the new leaves before the old root goes). Default 15s (above serve's and send's default 10s poll).");
        var rotate = new Command("rotate", "Issue new leaves from DIR/ca (same names, lifetime and key algorithm) and swap them into DIR/backend and DIR/frontend atomically, as kubelet updates a mounted Secret; a running serve or send picks them up.")
        {
            dir, newCa, overlap,
        };
        rotate.SetAction(parse =>
        {
            var folder = parse.GetRequiredValue(dir);
            DevPki.Rotate(folder, parse.GetValue(newCa), parse.GetValue(overlap) ?? DefaultOverlap, Console.Out);
            Console.Out.WriteLine($"rotated {Path.Combine(folder, DevPki.BackendFolder)}/ and {Path.Combine(folder, DevPki.FrontendFolder)}/{(parse.GetValue(newCa) ? " under a new root (the old root retired)" : string.Empty)}");
            return ExitCodes.Success;
        });
        return rotate;
    }

    private static Command CreateInspect()
    {
        var path = new Argument<string>("PATH") { Description = "A PEM certificate file, a Secret folder (tls.crt, tls.key, ca.crt) or a ca/ folder." };
        var inspect = new Command("inspect", "Print subject, names, issuer, validity, key algorithm and size, and whether the key matches; exit code 1 when something would make a handshake fail.")
        {
            path,
        };
        inspect.SetAction(parse =>
        {
            var inspector = new CertificateInspector(DateTimeOffset.UtcNow);
            inspector.Inspect(parse.GetRequiredValue(path));
            foreach (var line in inspector.Lines)
            {
                Console.Out.WriteLine(line);
            }

            foreach (var problem in inspector.Problems)
            {
                Console.Error.WriteLine($"problem: {problem}");
            }

            return inspector.Problems.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return inspect;
    }
}
