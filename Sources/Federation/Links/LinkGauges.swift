/// The outbound links by phase and what waits for them: what the runtime reports as gauges after
/// an event (`LinkTable.gauges`).
package struct LinkGauges: Sendable, Hashable {
    /// Links with stanzas queued and no connection slot yet.
    package var waiting = 0
    package var connecting = 0
    package var established = 0
    /// Links whose last attempt failed, waiting for the retry.
    package var backingOff = 0
    package var queuedStanzas = 0
    package var queuedBytes = 0

    package init() {}
}

extension LinkTable {
    /// Every link counted by phase, and the stanzas and bytes queued over all of them.
    package var gauges: LinkGauges {
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
