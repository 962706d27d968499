using System.Buffers;
using TwoTierBroker.Protocol;

namespace Broker.Transport.Fuzz;

/// <summary>
/// The two-tier broker sample's internal protocol (<see cref="BrokerCodec"/>), fuzzed like the transport's
/// parsers: any frame either decodes or is refused with <see cref="ProtocolException"/>; a frame that decodes
/// encodes back to the same bytes and decodes again to the same message, read whole or cut into segments.
/// AFL++ drives it as the <c>protocol</c> target; tests/TwoTierBroker.Tests replays its corpus (this file is
/// linked there) and asserts that the hand-made seeds (<c>seed-*</c>) decode.
/// </summary>
internal static class BrokerProtocolTarget
{
    /// <summary>The target's name, as <c>fuzz.sh</c> and the corpus folder name it.</summary>
    public const string Name = "protocol";

    /// <summary>Runs one input; returns whether it was a valid message.</summary>
    public static bool Run(byte[] input)
    {
        BrokerMessage message;
        try
        {
            message = BrokerCodec.Decode(new ReadOnlySequence<byte>(input));
        }
        catch (ProtocolException ex) when (!string.IsNullOrEmpty(ex.Message))
        {
            return false;
        }

        var encoded = new byte[BrokerCodec.GetSize(message)];
        BrokerCodec.Encode(message, encoded);
        if (!encoded.AsSpan().SequenceEqual(input))
        {
            throw new InvalidOperationException($"A {message.Kind} decoded from {input.Length} bytes encodes to {encoded.Length} different bytes.");
        }

        // The same bytes over many small segments, as a frame that arrived in pieces is handed out.
        var again = BrokerCodec.Decode(FuzzTargets.Segments(input, 3));
        if (again.Kind != message.Kind || again.Id != message.Id || again.Qos != message.Qos || again.Status != message.Status
            || again.Text != message.Text || !again.Payload.ToArray().AsSpan().SequenceEqual(message.Payload.ToArray()))
        {
            throw new InvalidOperationException($"A {message.Kind} decodes differently when its frame is cut into segments.");
        }

        return true;
    }
}
