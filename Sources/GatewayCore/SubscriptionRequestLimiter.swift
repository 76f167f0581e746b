package import Federation

/// How many subscription requests each partner's users may send: `subscription-request-rate` a
/// minute, all our users together, with a minute's worth at once. Each request may add a contact
/// to a user (auto-approved under Federated and PublicVerified trust) and costs a store write, so
/// a partner must not fill contact lists faster than people could.
///
/// Counted per partner as the policy names it (its primary pattern), so that the users of a
/// wildcard partner's many domains share one rate; an unlisted domain in open mode is its own
/// partner. A generic cell-rate algorithm: one instant per partner, the time by which its
/// requests so far would have been spent at the steady rate; a request is refused when that
/// instant is more than a minute ahead of now, less one request's share.
package struct SubscriptionRequestLimiter: Sendable {
    /// Per partner, when its requests so far are paid for at the steady rate.
    private var paidUntil: [String: LinkInstant] = [:]
    /// How many partners it may hold before those paid for are forgotten: twice what remained at
    /// the last forgetting, so that forgetting costs a constant share of the requests.
    private var forgetAt = 64

    package init() {}

    /// Partners whose requests are not yet paid for: at most those that sent one in the last minute.
    package var count: Int { paidUntil.count }

    /// Partners refused since their last admitted request: each is logged once as it goes over.
    private var refusing: Set<String> = []

    package enum Decision: Sendable, Hashable {
        case admitted
        /// `first`: the first refusal since the partner's last admitted request.
        case refused(first: Bool)
    }

    /// Whether one more request from `partner` at `now` is within `perMinute`; an admitted one is
    /// counted.
    package mutating func admit(partner: String, at now: LinkInstant, perMinute: Int) -> Decision {
        let share = Duration.seconds(60) / max(1, perMinute)
        let paid = max(paidUntil[partner] ?? now, now)
        guard paid - now <= .seconds(60) - share else {
            return .refused(first: refusing.insert(partner).inserted)
        }
        refusing.remove(partner)
        paidUntil[partner] = paid + share
        if paidUntil.count > forgetAt { forgetPaid(at: now) }
        return .admitted
    }

    /// Partners whose requests are all paid for by `now` have their full minute again: nothing
    /// about them needs keeping.
    private mutating func forgetPaid(at now: LinkInstant) {
        paidUntil = paidUntil.filter { $0.value > now }
        refusing = refusing.filter { paidUntil[$0] != nil }
        forgetAt = max(64, paidUntil.count * 2)
    }
}
