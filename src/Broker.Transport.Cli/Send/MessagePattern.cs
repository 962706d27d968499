using System.Security.Cryptography;

namespace Broker.Transport.Cli.Send;

/// <summary>
/// The bytes of each message one connection sends, known again on the way back so that every echoed byte
/// is checked. Message <c>i</c> is a window of a random buffer starting at <c>i mod 251</c>: consecutive
/// messages differ, so a lost, doubled or reordered message shows, and nothing is allocated per message.
/// </summary>
internal sealed class MessagePattern
{
    /// <summary>A prime: a slip of whole messages goes unnoticed only if it is a multiple of it.</summary>
    private const int Stride = 251;

    private readonly byte[] _bytes;

    public MessagePattern(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        Size = size;
        _bytes = new byte[size + Stride];
        RandomNumberGenerator.Fill(_bytes);
    }

    /// <summary>Each message's length in bytes.</summary>
    public int Size { get; }

    /// <summary>The content of message <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Message(long index) => _bytes.AsSpan((int)(index % Stride), Size);
}
