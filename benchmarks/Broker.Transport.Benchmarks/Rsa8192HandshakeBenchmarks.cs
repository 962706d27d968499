using BenchmarkDotNet.Attributes;
using Broker.Transport.Certificates;

namespace Broker.Transport.Benchmarks;

/// <summary>
/// <see cref="HandshakeBenchmarks"/> for <c>Rsa8192</c> leaves, without a long repeat: one warm-up and three
/// iterations of two connects each, whatever <c>--job</c> says. An RSA-8192 key takes 20-35 s to make here
/// (one per process, shared by the root and both leaves), and a full handshake about 100 ms.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(HandshakeConfig))]
[WarmupCount(1)]
[IterationCount(3)]
[InvocationCount(2, 1)]
public class Rsa8192HandshakeBenchmarks : HandshakeBenchmarksBase
{
    /// <inheritdoc />
    protected override PrivateKeyAlgorithm Algorithm => PrivateKeyAlgorithm.Rsa8192;
}
