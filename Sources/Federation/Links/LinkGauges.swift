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
    /// Every link counted by phase, and the stanzas and bytes queued over all of them: kept as
    /// entries change (`Entries`), not counted on each call.
    package var gauges: LinkGauges { entries.gauges }
}
