/// The outbound links by phase and what waits for them: what the runtime reports as gauges after
/// an event (`LinkTable.gauges`).
public struct LinkGauges: Sendable, Hashable {
    /// Links with stanzas queued and no connection slot yet.
    public var waiting = 0
    public var connecting = 0
    public var established = 0
    /// Links whose last attempt failed, waiting for the retry.
    public var backingOff = 0
    public var queuedStanzas = 0
    public var queuedBytes = 0

    public init() {}
}

extension LinkTable {
    /// Every link counted by phase, and the stanzas and bytes queued over all of them.
    public var gauges: LinkGauges {
        var gauges = LinkGauges()
        for key in entries.keys {
            guard let status = status(of: key) else { continue }
            switch status.phase {
            case .waitingForSlot: gauges.waiting += 1
            case .connecting: gauges.connecting += 1
            case .established: gauges.established += 1
            case .retryScheduled: gauges.backingOff += 1
            }
            gauges.queuedStanzas += status.queuedStanzas
            gauges.queuedBytes += status.queuedBytes
        }
        return gauges
    }
}
