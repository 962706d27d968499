using System.Collections;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;
using TwoTierBroker.Protocol;

namespace TwoTierBroker.Frontend;

/// <summary>The MQTT server's events: connects, publishes, subscribes, unsubscribes, disconnects.</summary>
public sealed partial class FrontendNode
{
    private const string ProtocolKey = "TwoTierBroker.ProtocolVersion";
    private const string FiltersKey = "TwoTierBroker.Filters";

    /// <summary>
    /// Refuses what this sample does not do (persistent sessions), and every client while no partition is
    /// linked: such a frontend could deliver nothing, so it says "server unavailable" (with the links' errors
    /// in MQTT 5's reason string) rather than accept publishes it would drop.
    /// </summary>
    private Task OnConnectingAsync(ValidatingConnectionEventArgs e)
    {
        e.SessionItems[ProtocolKey] = e.ProtocolVersion;
        e.SessionItems[FiltersKey] = new HashSet<string>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(e.ClientId) && e.ProtocolVersion == MqttProtocolVersion.V500)
        {
            // MQTT 5 lets the server name a client that sent none; MQTTnet refuses an empty id on 3.1.1 whatever we do.
            e.AssignedClientIdentifier = $"{Options.Name}-{Guid.NewGuid():N}";
        }

        if (e.CleanSession == false)
        {
            Refuse(e, MqttConnectReasonCode.ImplementationSpecificError, "this sample broker keeps clean sessions only (connect with clean session / clean start)");
        }
        else if (LinkedPartitions == 0)
        {
            Refuse(e, MqttConnectReasonCode.ServerUnavailable, $"no backend is linked: {DescribeLinks()}");
        }

        return Task.CompletedTask;
    }

    private void Refuse(ValidatingConnectionEventArgs e, MqttConnectReasonCode code, string reason)
    {
        e.ReasonCode = code;
        e.ReasonString = reason;
        SampleLog.ConnectRefused(_log, Options.Name, e.ClientId, reason);
    }

    /// <summary>
    /// A client's PUBLISH goes to the partition that owns its topic and is not delivered here directly
    /// (<c>ProcessPublish = false</c>): it comes back from the backend. QoS 1 is answered (PUBACK) only once the
    /// backend has taken it. When it cannot be delivered, an MQTT 5 client gets PUBACK with reason code 0x83
    /// (implementation specific error) and the reason; an MQTT 3.1.1 PUBACK cannot say "failed", so that
    /// client's connection is closed without one, and the client publishes it again when it reconnects.
    /// </summary>
    private async Task OnPublishAsync(InterceptingPublishEventArgs e)
    {
        if (ReferenceEquals(e.SessionItems, _fromBackends))
        {
            return;
        }

        e.ProcessPublish = false;
        var message = e.ApplicationMessage;
        if (message.QualityOfServiceLevel == MqttQualityOfServiceLevel.ExactlyOnce)
        {
            Fail(e, "QoS 2 is not supported by this sample broker (QoS 0 and 1 are)");
            return;
        }

        var link = _links[Partitioner.Owner(message.Topic, _links.Length)];
        var qos = (byte)message.QualityOfServiceLevel;
        var result = await link.PublishAsync(message.Topic, qos, message.Payload, e.CancellationToken).ConfigureAwait(false);
        if (!result.Ok && qos == 1)
        {
            Fail(e, result.Reason ?? "not delivered");
        }
    }

    private void Fail(InterceptingPublishEventArgs e, string reason)
    {
        SampleLog.PublishRefused(_log, Options.Name, e.ApplicationMessage.Topic, e.ClientId, reason);
        if (e.SessionItems[ProtocolKey] is MqttProtocolVersion.V500)
        {
            e.Response.ReasonCode = MqttPubAckReasonCode.ImplementationSpecificError;
            e.Response.ReasonString = reason;
        }
        else
        {
            e.CloseConnection = true;
        }
    }

    /// <summary>
    /// A SUBSCRIBE is answered once every linked partition confirmed the filter, so a publish made after the
    /// SUBACK reaches the subscriber whichever partition owns it. QoS 2 is granted as QoS 1.
    /// </summary>
    private async Task OnSubscribingAsync(InterceptingSubscriptionEventArgs e)
    {
        if (!e.ProcessSubscription || e.Response.ReasonCode > MqttSubscribeReasonCode.GrantedQoS2)
        {
            return;
        }

        if (e.TopicFilter.QualityOfServiceLevel == MqttQualityOfServiceLevel.ExactlyOnce)
        {
            e.TopicFilter.QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce;
            e.Response.ReasonCode = MqttSubscribeReasonCode.GrantedQoS1;
        }

        var filter = e.TopicFilter.Topic;
        var held = Filters(e.SessionItems);
        lock (held)
        {
            if (!held.Add(filter))
            {
                return; // The same client subscribing again: MQTTnet replaces its subscription; the backends know it already.
            }
        }

        AckResult result;
        try
        {
            result = await SubscribeAsync(filter, e.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client went away before the table counted it: its session must not release the filter later.
            lock (held)
            {
                held.Remove(filter);
            }

            throw;
        }

        if (!result.Ok)
        {
            lock (held)
            {
                held.Remove(filter);
            }

            await UnsubscribeAsync(filter).ConfigureAwait(false);
            e.ProcessSubscription = false;
            e.Response.ReasonCode = MqttSubscribeReasonCode.ImplementationSpecificError;
            e.ReasonString = result.Reason;
        }
    }

    private async Task OnUnsubscribedAsync(ClientUnsubscribedTopicEventArgs e)
    {
        var held = Filters(e.SessionItems);
        bool removed;
        lock (held)
        {
            removed = held.Remove(e.TopicFilter);
        }

        if (removed)
        {
            await UnsubscribeAsync(e.TopicFilter).ConfigureAwait(false);
        }
    }

    /// <summary>Clean sessions end with the connection: the session's filters are released (a takeover reports the old session's).</summary>
    private async Task OnDisconnectedAsync(ClientDisconnectedEventArgs e)
    {
        if (e.SessionItems[FiltersKey] is not HashSet<string> held)
        {
            return;
        }

        string[] filters;
        lock (held)
        {
            filters = [.. held];
            held.Clear();
        }

        foreach (var filter in filters)
        {
            await UnsubscribeAsync(filter).ConfigureAwait(false);
        }
    }

    /// <summary>Counts the filter; the first holder sends it to every linked partition and waits for their acks.</summary>
    private async Task<AckResult> SubscribeAsync(string filter, CancellationToken cancellationToken)
    {
        Task<AckResult> confirmed;
        await Subscriptions.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Subscriptions.Add(filter) is { } earlier)
            {
                confirmed = earlier;
            }
            else
            {
                var acks = new List<Task<AckResult>>();
                // Counted now: from here on the client's going away settles through the refused path, never by throwing.
                foreach (var link in _links)
                {
                    if (await link.RequestAsync(MessageKind.Subscribe, filter, CancellationToken.None).ConfigureAwait(false) is { } ack)
                    {
                        acks.Add(ack);
                    }
                }

                confirmed = AllAsync(acks);
                Subscriptions.SetConfirmation(filter, confirmed);
            }
        }
        finally
        {
            Subscriptions.Lock.Release();
        }

        try
        {
            return await confirmed.WaitAsync(Options.PublishTimeout, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return AckResult.Refused($"the backends did not confirm the subscription within {Options.PublishTimeout.TotalSeconds:0.#} s: {DescribeLinks()}");
        }
        catch (OperationCanceledException)
        {
            return AckResult.Refused("the client went away before the backends confirmed the subscription");
        }
    }

    /// <summary>Counts the filter off; the last holder's unsubscribe goes to every linked partition (not awaited: nothing waits on it).</summary>
    private async Task UnsubscribeAsync(string filter)
    {
        await Subscriptions.Lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Subscriptions.Remove(filter))
            {
                foreach (var link in _links)
                {
                    _ = await link.RequestAsync(MessageKind.Unsubscribe, filter, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            Subscriptions.Lock.Release();
        }
    }

    private static async Task<AckResult> AllAsync(List<Task<AckResult>> acks)
    {
        foreach (var result in await Task.WhenAll(acks).ConfigureAwait(false))
        {
            if (!result.Ok)
            {
                return result;
            }
        }

        return AckResult.Success;
    }

    private static HashSet<string> Filters(IDictionary items) => (HashSet<string>)items[FiltersKey]!;
}
