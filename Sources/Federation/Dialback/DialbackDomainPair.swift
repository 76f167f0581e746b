/// What one dialback negotiation authorizes (XEP-0220 §1.3): stanzas from `sender` to `target` over
/// one stream, in one direction. A stream can carry several pairs ("multiplexing", §2.6), each
/// negotiated on its own.
///
/// Both domains are canonical domainparts (`JID.domainpart`): dialback elements parsed here are
/// normalised that way, and keys are computed over these exact strings.
package struct DialbackDomainPair: Sendable, Hashable, CustomStringConvertible {
    /// The Sender Domain: the domain the Initiating Server claims to speak for (`from` of its
    /// `<db:result/>` request).
    package var sender: String
    /// The Target Domain: the domain at the Receiving Server that stanzas will go to (`to` of the
    /// request).
    package var target: String

    package init(sender: String, target: String) {
        self.sender = sender
        self.target = target
    }

    package var description: String { "\(sender) → \(target)" }
}
