namespace Broker.Transport.Benchmarks.Fleet;

/// <summary>
/// The fleet's clock, all scaled from kubelet's delay (<see cref="KubeletDelay"/>, standing in for kubelet's sync
/// period plus its cache delay, a minute or more on a cluster). The handover must outlast the spread of the pods'
/// deliveries, and a leaf must outlast its renewal period, its delivery and a handover, as on a cluster (hours-long
/// leaves, a 2-minute handover).
/// </summary>
internal sealed record FleetTimings(TimeSpan KubeletDelay, TimeSpan Duration, bool Short)
{
    public TimeSpan Poll => Short ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromSeconds(1);

    public TimeSpan RootHandover => (KubeletDelay * 1.5) + (2 * Poll);

    public TimeSpan DrainGrace => Short ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);

    /// <summary>How often cert-manager renews every leaf.</summary>
    public TimeSpan RenewEvery => Short ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(5);

    public TimeSpan LeafDuration => RenewEvery + KubeletDelay + RootHandover + (2 * DrainGrace) + (Short ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(5));

    public TimeSpan ProbeEvery => Short ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(1);

    public TimeSpan FrameEvery => TimeSpan.FromMilliseconds(10);

    /// <summary>What a step of the runbook waits for: every pod's delivery, then the handover a leaf may wait for.</summary>
    public TimeSpan StepWait => KubeletDelay + RootHandover + Poll;

    /// <summary>How long after the last change the scenario goes on, so that every drain and retirement it causes happens.</summary>
    public TimeSpan Settle => KubeletDelay + (2 * RootHandover) + DrainGrace + (2 * Poll);
}
