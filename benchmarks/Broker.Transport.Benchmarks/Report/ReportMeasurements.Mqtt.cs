using System.Globalization;
using Broker.Transport.Security;
using MQTTnet;
using MQTTnet.Protocol;

namespace Broker.Transport.Benchmarks.Report;

/// <summary>MQTT, end to end: the two-tier sample, Disabled and Enabled, against one MQTTnet broker.</summary>
internal static partial class ReportMeasurements
{
    /// <summary>The MQTT payload sizes (Bogus telemetry, padded to the size) and QoS levels.</summary>
    public static readonly (int Size, MqttQualityOfServiceLevel Qos)[] MqttWorkloads =
    [
        (256, MqttQualityOfServiceLevel.AtMostOnce), (256, MqttQualityOfServiceLevel.AtLeastOnce),
        (1024, MqttQualityOfServiceLevel.AtMostOnce), (1024, MqttQualityOfServiceLevel.AtLeastOnce),
    ];

    private static readonly MqttRoute[] Routes = [MqttRoute.Single, MqttRoute.Disabled, MqttRoute.Enabled];

    /// <summary>The MQTT table's name.</summary>
    public const string MqttGroup = "MQTT, end to end: publish to delivery through samples/TwoTierBroker (all: 2 frontends, 2 backends) and through one MQTTnet broker";

    /// <summary>
    /// Per workload and round, each route back to back (rotated): a burst of messages from
    /// <see cref="MqttPath.Publishers"/> publishers, timed from the first publish to the last delivery, then
    /// single messages timed one by one from publish to delivery (P50, P99).
    /// </summary>
    public static async Task<List<MqttRow>> MqttAsync(ReportOptions options, ReportProgress progress)
    {
        var paths = new Dictionary<MqttRoute, MqttPath>
        {
            [MqttRoute.Single] = await MqttPath.SingleBrokerAsync(),
            [MqttRoute.Disabled] = await MqttPath.TwoTierAsync(EncryptInternalTraffic.Disabled),
            [MqttRoute.Enabled] = await MqttPath.TwoTierAsync(EncryptInternalTraffic.Enabled),
        };
        var rows = new List<MqttRow>();
        try
        {
            foreach (var (size, qos) in MqttWorkloads)
            {
                var messages = Telemetry.FixedSize(64, size, seed: 1883)
                    .Select(p => new MqttApplicationMessageBuilder().WithTopic(Telemetry.Topic(p)).WithPayload(p).WithQualityOfServiceLevel(qos).Build())
                    .ToArray();
                var workload = string.Create(CultureInfo.InvariantCulture, $"{(size == 1024 ? "1 KiB" : $"{size} B")}, QoS {(int)qos}");
                var throughput = new MqttSamples(workload, "messages/s", throughput: true);
                var p50 = new MqttSamples(workload, "latency P50 (µs)", throughput: false);
                var p99 = new MqttSamples(workload, "latency P99 (µs)", throughput: false);
                foreach (var path in paths.Values)
                {
                    await path.ThroughputAsync(messages, options.MqttMessages / 4);
                    await path.LatencyAsync(messages, options.MqttLatencySamples / 4);
                }

                for (var round = 0; round < options.Rounds; round++)
                {
                    foreach (var route in Enumerable.Range(0, Routes.Length).Select(i => Routes[(i + round) % Routes.Length]))
                    {
                        throughput.Add(route, await paths[route].ThroughputAsync(messages, options.MqttMessages));
                        var times = await paths[route].LatencyAsync(messages, options.MqttLatencySamples);
                        p50.Add(route, times[times.Length / 2]);
                        p99.Add(route, times[Math.Min(times.Length - 1, (int)Math.Ceiling(times.Length * 0.99) - 1)]);
                    }

                    progress.Step(Phase.Mqtt, string.Create(CultureInfo.InvariantCulture, $"{workload}, round {round + 1}/{options.Rounds}"));
                }

                rows.AddRange([throughput.ToRow(), p50.ToRow(), p99.ToRow()]);
            }
        }
        finally
        {
            foreach (var path in paths.Values)
            {
                await path.DisposeAsync();
            }
        }

        return rows;
    }
}
