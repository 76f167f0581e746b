package import XMLStreaming
package import XMPP

/// The Authoritative Server's side of dialback on an inbound stream (XEP-0220 §2.2.2): answers
/// `<db:verify/>` requests about keys that our Initiating Server handed out.
///
/// Stateless: XEP-0185 keys carry their own proof, so a key is checked by computing it again from
/// the request's `from` (the Receiving Server), `to` (us, the originating domain) and `id` (the
/// stream ID), with no record of keys issued. Held by the inbound stream machine next to
/// `DialbackReceiver`.
package struct DialbackAuthority: Sendable {
    package enum Action: Sendable, Hashable {
        /// Write this `<db:verify/>` answer to the stream.
        case send(XMLElement)
        /// The peer broke the protocol: send this stream error and close the stream.
        case closeStream(StreamError)
    }

    /// The domains we answer for (canonical domainparts).
    package let localDomains: Set<String>
    private let secret: DialbackSecret

    /// - Parameters:
    ///   - secret: the secret our Initiating Server derives keys from.
    ///   - localDomains: the domains we serve.
    package init(secret: DialbackSecret, localDomains: Set<String>) {
        self.secret = secret
        self.localDomains = localDomains
    }

    /// A `<db:verify/>` arrived on an inbound stream.
    ///
    /// - A request about a domain we do not serve gets dialback error `item-not-found`, `from` that
    ///   domain so the Receiving Server can match it (§2.2.2, §2.5); the stream stays up.
    /// - Otherwise the answer is `valid` or `invalid`, from the key recomputed in constant time;
    ///   an empty or malformed key is simply `invalid`.
    /// - An answer (`type` set) is unsolicited on an inbound stream (§2.2) and closes it with
    ///   `not-authorized` (§3.1).
    package func verifyReceived(_ request: DialbackVerify) -> Action {
        guard case .key(let key) = request.payload else {
            return .closeStream(StreamError(.notAuthorized, text: "a verification answer on an inbound stream, where no request was made"))
        }
        guard localDomains.contains(request.to) else {
            let error = StanzaError(.itemNotFound, text: "this server does not host \(request.to)")
            return .send(request.answered(.error(error)).element)
        }
        let genuine = key.isValid(secret: secret, receivingServer: request.from, originatingServer: request.to, streamID: request.id)
        return .send(request.answered(genuine ? .valid : .invalid).element)
    }
}
