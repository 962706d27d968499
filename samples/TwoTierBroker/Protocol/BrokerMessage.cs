using System.Buffers;

namespace TwoTierBroker.Protocol;

/// <summary>What an internal message is. The value is the message's second byte on the wire.</summary>
public enum MessageKind : byte
{
    /// <summary>Frontend to backend, first on a connection: who the frontend is.</summary>
    Hello = 1,

    /// <summary>Backend to frontend, the answer to <see cref="Hello"/>: the backend's name. No other message comes before it.</summary>
    Welcome = 2,

    /// <summary>Frontend to backend: a topic filter one of the frontend's clients subscribed to (acknowledged).</summary>
    Subscribe = 3,

    /// <summary>Frontend to backend: a topic filter no client of the frontend holds any longer (acknowledged).</summary>
    Unsubscribe = 4,

    /// <summary>Frontend to backend: an MQTT PUBLISH for a topic the backend owns; acknowledged when its QoS is 1.</summary>
    Publish = 5,

    /// <summary>
    /// Backend to frontend: the request with this id was taken (or refused, with a reason). Frontend to
    /// backend: the QoS 1 delivery with this id is in the frontend's MQTT server.
    /// </summary>
    Ack = 6,

    /// <summary>Backend to frontend: a message for the frontend's subscribers; acknowledged when its QoS is 1.</summary>
    Delivery = 7,
}

/// <summary>How the backend answered a request, in <see cref="MessageKind.Ack"/>.</summary>
public enum AckStatus : byte
{
    /// <summary>Taken: a publish was handed to every subscribed frontend, a subscription is in place.</summary>
    Accepted = 0,

    /// <summary>Refused; <see cref="BrokerMessage.Text"/> says why.</summary>
    Refused = 1,

    /// <summary>
    /// Not every subscribed frontend confirmed its delivery (one went away meanwhile): the publisher sends
    /// the publish again, so every subscriber gets it at least once.
    /// </summary>
    Retry = 2,
}

/// <summary>
/// One internal message, decoded from (or to be encoded into) one frame of the transport. Which fields mean
/// something depends on <see cref="Kind"/>:
/// <list type="table">
/// <item><term>Hello, Welcome</term><description><see cref="Text"/>: the sender's name.</description></item>
/// <item><term>Subscribe, Unsubscribe</term><description><see cref="Id"/>, <see cref="Text"/>: the topic filter.</description></item>
/// <item><term>Publish</term><description><see cref="Id"/> (0 for QoS 0), <see cref="Qos"/>, <see cref="Text"/>: the topic, <see cref="Payload"/>.</description></item>
/// <item><term>Ack</term><description><see cref="Id"/>, <see cref="Status"/>, <see cref="Text"/>: the reason when refused.</description></item>
/// <item><term>Delivery</term><description><see cref="Id"/> (0 for QoS 0), <see cref="Qos"/>, <see cref="Text"/>: the topic, <see cref="Payload"/>.</description></item>
/// </list>
/// A decoded message's <see cref="Payload"/> is a slice of the frame (no copy): valid until the next frame is read.
/// </summary>
public readonly record struct BrokerMessage(MessageKind Kind, ulong Id, byte Qos, AckStatus Status, string Text, ReadOnlySequence<byte> Payload)
{
    /// <summary>A <see cref="MessageKind.Hello"/> from the frontend named <paramref name="frontend"/>.</summary>
    public static BrokerMessage Hello(string frontend) => new(MessageKind.Hello, 0, 0, AckStatus.Accepted, frontend, default);

    /// <summary>A <see cref="MessageKind.Welcome"/> from the backend named <paramref name="backend"/>.</summary>
    public static BrokerMessage Welcome(string backend) => new(MessageKind.Welcome, 0, 0, AckStatus.Accepted, backend, default);

    /// <summary>A <see cref="MessageKind.Subscribe"/> of <paramref name="filter"/>.</summary>
    public static BrokerMessage Subscribe(ulong id, string filter) => new(MessageKind.Subscribe, id, 0, AckStatus.Accepted, filter, default);

    /// <summary>An <see cref="MessageKind.Unsubscribe"/> of <paramref name="filter"/>.</summary>
    public static BrokerMessage Unsubscribe(ulong id, string filter) => new(MessageKind.Unsubscribe, id, 0, AckStatus.Accepted, filter, default);

    /// <summary>A <see cref="MessageKind.Publish"/>; <paramref name="id"/> is 0 for QoS 0 (no ack).</summary>
    public static BrokerMessage Publish(ulong id, byte qos, string topic, ReadOnlySequence<byte> payload) => new(MessageKind.Publish, id, qos, AckStatus.Accepted, topic, payload);

    /// <summary>An <see cref="MessageKind.Ack"/> of request <paramref name="id"/>.</summary>
    public static BrokerMessage Ack(ulong id, AckStatus status = AckStatus.Accepted, string reason = "") => new(MessageKind.Ack, id, 0, status, reason, default);

    /// <summary>A <see cref="MessageKind.Delivery"/> of a message on <paramref name="topic"/>; <paramref name="id"/> is 0 for QoS 0 (no ack).</summary>
    public static BrokerMessage Delivery(ulong id, byte qos, string topic, ReadOnlySequence<byte> payload) => new(MessageKind.Delivery, id, qos, AckStatus.Accepted, topic, payload);
}
