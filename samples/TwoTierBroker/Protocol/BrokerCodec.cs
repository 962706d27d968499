using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Broker.Transport.Framing;

namespace TwoTierBroker.Protocol;

/// <summary>
/// The internal protocol between frontends and backends: one message per frame of the transport.
/// <code>
/// byte 0      version (1)
/// byte 1      kind (MessageKind)
/// Hello, Welcome         text
/// Subscribe, Unsubscribe id:u64  text (the filter)
/// Publish                id:u64  qos:u8  text (the topic)  payload (the rest of the frame)
/// Ack                    id:u64  status:u8  text (the reason, empty when accepted)
/// Delivery               id:u64  qos:u8  text (the topic)  payload (the rest of the frame)
/// text = length:u16 then that many bytes of UTF-8; integers big-endian.
/// </code>
/// The version comes first so that a later version can change everything after it; a peer that speaks
/// another version is refused with a message that says both versions. Everything is checked: a message
/// that is short, long, of an unknown kind, with a QoS other than 0 or 1, a publish or delivery whose id
/// disagrees with its QoS, an ack status other than 0 to 2, text that is not UTF-8 or holds U+0000, or an empty topic or filter, is a <see cref="ProtocolException"/>.
/// </summary>
public static class BrokerCodec
{
    /// <summary>The version this build speaks, and writes in every message's first byte.</summary>
    public const byte Version = 1;

    /// <summary>The longest text (topic, filter, name, reason) in UTF-8 bytes: MQTT's own limit.</summary>
    public const int MaxTextBytes = ushort.MaxValue;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The size of <paramref name="message"/> encoded, in bytes.</summary>
    /// <exception cref="ArgumentException">Its text is longer than <see cref="MaxTextBytes"/>.</exception>
    public static int GetSize(in BrokerMessage message)
    {
        var text = StrictUtf8.GetByteCount(message.Text);
        if (text > MaxTextBytes)
        {
            throw new ArgumentException($"The {message.Kind} text is {text} bytes of UTF-8; at most {MaxTextBytes} fit.", nameof(message));
        }

        var size = 2 + 2 + text;
        return message.Kind switch
        {
            MessageKind.Subscribe or MessageKind.Unsubscribe => size + 8,
            MessageKind.Publish or MessageKind.Delivery => size + 8 + 1 + (int)message.Payload.Length,
            MessageKind.Ack => size + 8 + 1,
            _ => size,
        };
    }

    /// <summary>Encodes <paramref name="message"/> into <paramref name="destination"/>, which holds exactly <see cref="GetSize"/> bytes.</summary>
    public static void Encode(in BrokerMessage message, Span<byte> destination)
    {
        destination[0] = Version;
        destination[1] = (byte)message.Kind;
        var at = 2;
        switch (message.Kind)
        {
            case MessageKind.Subscribe or MessageKind.Unsubscribe:
                BinaryPrimitives.WriteUInt64BigEndian(destination[at..], message.Id);
                at += 8;
                break;
            case MessageKind.Publish or MessageKind.Delivery:
                BinaryPrimitives.WriteUInt64BigEndian(destination[at..], message.Id);
                destination[at + 8] = message.Qos;
                at += 9;
                break;
            case MessageKind.Ack:
                BinaryPrimitives.WriteUInt64BigEndian(destination[at..], message.Id);
                destination[at + 8] = (byte)message.Status;
                at += 9;
                break;
        }

        var text = StrictUtf8.GetBytes(message.Text, destination[(at + 2)..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[at..], (ushort)text);
        at += 2 + text;
        if (message.Kind is MessageKind.Publish or MessageKind.Delivery)
        {
            message.Payload.CopyTo(destination[at..]);
            at += (int)message.Payload.Length;
        }

        if (at != destination.Length)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the {message.Kind} takes {at}.", nameof(destination));
        }
    }

    /// <summary>Encodes <paramref name="message"/> as one frame into <paramref name="writer"/>, without flushing.</summary>
    public static void WriteFrame(PipeWriter writer, in BrokerMessage message)
    {
        // The frame API takes a finished payload, so the message is encoded into a pooled buffer first and
        // copied once more into the pipe (see the sample's README: a frame writer that hands out the payload's
        // span would spare that copy).
        var size = GetSize(message);
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            Encode(message, buffer.AsSpan(0, size));
            writer.WriteFrame(buffer.AsSpan(0, size));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Decodes one frame's payload. The result's payload is a slice of <paramref name="frame"/>.</summary>
    /// <exception cref="ProtocolException">The frame is not a valid message of this version; the message says what is wrong.</exception>
    public static BrokerMessage Decode(ReadOnlySequence<byte> frame)
    {
        var reader = new SequenceReader<byte>(frame);
        if (!reader.TryRead(out var version))
        {
            throw new ProtocolException("An empty frame is not a message: every message starts with the protocol version.");
        }

        if (version != Version)
        {
            throw new ProtocolException($"The peer speaks version {version} of the internal protocol; this build speaks version {Version}. Run the same version of the broker on frontends and backends.");
        }

        if (!reader.TryRead(out var kindByte))
        {
            throw new ProtocolException("The message ends after its version: the kind is missing.");
        }

        var kind = (MessageKind)kindByte;
        ulong id = 0;
        byte qos = 0;
        var status = AckStatus.Accepted;
        switch (kind)
        {
            case MessageKind.Hello or MessageKind.Welcome:
                break;
            case MessageKind.Subscribe or MessageKind.Unsubscribe:
                id = ReadId(ref reader, kind);
                break;
            case MessageKind.Publish or MessageKind.Delivery:
                id = ReadId(ref reader, kind);
                qos = ReadQos(ref reader, kind);
                if ((qos == 0) != (id == 0))
                {
                    throw new ProtocolException(qos == 0
                        ? $"A QoS 0 {kind} carries id {id}; QoS 0 is never acknowledged, so its id must be 0."
                        : $"A QoS 1 {kind} carries id 0; a message to acknowledge needs an id above 0.");
                }

                break;
            case MessageKind.Ack:
                id = ReadId(ref reader, kind);
                if (!reader.TryRead(out var statusByte))
                {
                    throw Short(kind, "status");
                }

                status = statusByte <= (byte)AckStatus.Retry
                    ? (AckStatus)statusByte
                    : throw new ProtocolException($"An ack's status is {statusByte}; 0 (accepted), 1 (refused) and 2 (retry) exist.");
                break;
            default:
                throw new ProtocolException($"Unknown message kind {kindByte} (version {Version} has 1 to 7).");
        }

        var text = ReadText(ref reader, kind);
        ReadOnlySequence<byte> payload = default;
        if (kind is MessageKind.Publish or MessageKind.Delivery)
        {
            payload = reader.UnreadSequence;
        }
        else if (!reader.End)
        {
            throw new ProtocolException($"A {kind} message has {reader.Remaining} bytes after its last field.");
        }

        if (text.Length == 0 && kind is MessageKind.Subscribe or MessageKind.Unsubscribe or MessageKind.Publish or MessageKind.Delivery)
        {
            throw new ProtocolException($"A {kind} message has an empty {(kind is MessageKind.Subscribe or MessageKind.Unsubscribe ? "topic filter" : "topic")}.");
        }

        return new BrokerMessage(kind, id, qos, status, text, payload);
    }

    private static ulong ReadId(ref SequenceReader<byte> reader, MessageKind kind)
        => reader.TryReadBigEndian(out long id) ? (ulong)id : throw Short(kind, "id");

    private static byte ReadQos(ref SequenceReader<byte> reader, MessageKind kind)
    {
        if (!reader.TryRead(out var qos))
        {
            throw Short(kind, "QoS");
        }

        return qos <= 1 ? qos : throw new ProtocolException($"A {kind} message carries QoS {qos}; the internal protocol carries QoS 0 and 1.");
    }

    private static string ReadText(ref SequenceReader<byte> reader, MessageKind kind)
    {
        if (!reader.TryReadBigEndian(out short signedLength))
        {
            throw Short(kind, "text length");
        }

        var length = (ushort)signedLength;
        if (reader.Remaining < length)
        {
            throw new ProtocolException($"A {kind} message announces {length} bytes of text; {reader.Remaining} follow.");
        }

        var bytes = reader.UnreadSequence.Slice(0, length);
        reader.Advance(length);
        string text;
        try
        {
            text = StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new ProtocolException($"A {kind} message's text is not valid UTF-8.", ex);
        }

        return text.Contains('\0', StringComparison.Ordinal)
            ? throw new ProtocolException($"A {kind} message's text holds U+0000, which MQTT forbids in topics and names.")
            : text;
    }

    private static ProtocolException Short(MessageKind kind, string field)
        => new($"A {kind} message ends before its {field}.");
}

/// <summary>A frame that is not a valid internal message; the peer that sent it is cut off.</summary>
public sealed class ProtocolException : Exception
{
    /// <summary>Creates the exception with the reason.</summary>
    public ProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the reason and its cause.</summary>
    public ProtocolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ProtocolException()
    {
    }
}
