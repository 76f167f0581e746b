package import Administration
import Configuration
package import Federation
import Foundation
package import Gateway
package import GatewayCore
package import Hummingbird
package import NIOCore
package import HummingbirdWebSocket
package import PresenceModel
package import Storage
package import Translation
package import XMPP

/// What the internal API needs of the running gateway: actions applied in the gateway's one serial
/// order, and the directory read back after them. A protocol so the routes do not depend on how
/// the gateway is started; `Gateway` is the one implementation, and tests use a real one.
package protocol InternalUserGateway: Sendable {
    /// Performs the action and returns once it has been handled and stored, so a read that
    /// follows sees it; throws when the store could not keep it.
    func apply(_ action: InternalAction) async throws(StoreUnavailable)
    /// The internal user as the gateway now knows them, or `nil` when it knows no such user.
    func user(_ jid: JID) async -> InternalUser?
    /// How many entries the user's contact list holds (held requests included), and the most it
    /// may (`[gateway] contact-limit`).
    func contactList(of user: JID) async -> (size: Int, limit: Int)
    /// Everything the gateway tells the user from now on, through a bounded buffer: what
    /// `GET /v1/me/events` streams.
    func events(for user: JID) async -> EventSubscription
}

extension Gateway: InternalUserGateway {}

/// The internal users' HTTP API (JSON over HTTP, on Hummingbird): the only way internal users and
/// the systems acting for them reach the gateway. Every route that changes something maps onto one
/// `InternalAction`, and the history is a read of the store, so the API adds authentication and
/// input checking but no behaviour of its own; the document describing it is `openapi.yaml`, served
/// at `GET /openapi.yaml`.
package enum InternalAPI {
    /// Limits on what a client may send and hold (`[api]` keys).
    package struct Limits: Sendable, Hashable {
        /// The largest request body accepted; larger ones get 413 `body-too-large` and change
        /// nothing, at once from the head when `Content-Length` announces it.
        package var maxBodyBytes: Int
        /// Open connections, all clients together; one more is answered 503 and closed at once.
        package var connectionLimit: Int
        /// How long a connection may wait for its next request (the first one too, and one whose
        /// head is still arriving) before it is closed.
        package var idleTimeout: Duration
        /// How long a request may take from its head to its last body byte; then it is answered
        /// 408 and the connection closed.
        package var requestTimeout: Duration
        /// How long an event stream whose client did not keep up is given to take the close frame
        /// (1008) before its connection is closed: a client that reads nothing never will.
        package var overflowCloseGrace: Duration
        /// How many bytes an event stream may hand to its connection before it waits for the
        /// connection to have taken them; with NIO's write buffer limit, what a client that stops
        /// reading holds in memory beyond the event buffer.
        package var writeAhead: Int

        package init(
            maxBodyBytes: Int = 64 * 1024, connectionLimit: Int = APISettings.defaultConnectionLimit,
            idleTimeout: Duration = APISettings.defaultIdleTimeout, requestTimeout: Duration = APISettings.defaultRequestTimeout,
            overflowCloseGrace: Duration = .seconds(10), writeAhead: Int = 64 * 1024
        ) {
            self.maxBodyBytes = maxBodyBytes
            self.connectionLimit = connectionLimit
            self.idleTimeout = idleTimeout
            self.requestTimeout = requestTimeout
            self.overflowCloseGrace = overflowCloseGrace
            self.writeAhead = writeAhead
        }
    }

    /// What the admin routes need besides the store: the same inputs `consulate users` and
    /// `consulate domains` read from `federation.toml`, so that both apply the same rules.
    package struct AdminSettings: Sendable {
        /// The domains internal users may live on (`gateway.domains`).
        package var localDomains: Set<String>
        /// The `[[partner]]` entries of the file as last loaded (a reload may change them), which
        /// runtime changes override.
        package var filePartners: @Sendable () async -> [PartnerPolicy]

        /// Called after an admin route changed the allowlist or the users in the store, so the
        /// running gateway applies the change at once; by default nothing is applied.
        package var storeChanged: @Sendable (StoreChange) async -> Void

        /// The running gateway's links, for `GET /v1/admin/links`; without it that route answers
        /// 503 `links-unavailable`.
        package var links: (@Sendable () async -> LinkSnapshot)?

        /// `consulate check` on the running server's configuration file, with or without DNS, for
        /// `GET /v1/admin/check`; without it that route answers 503 `check-unavailable`.
        package var check: (@Sendable (_ withDNS: Bool) async -> [ConfigurationCheck.Finding])?

        package init(
            localDomains: Set<String>,
            filePartners: @escaping @Sendable () async -> [PartnerPolicy],
            storeChanged: @escaping @Sendable (StoreChange) async -> Void = { _ in },
            links: (@Sendable () async -> LinkSnapshot)? = nil,
            check: (@Sendable (_ withDNS: Bool) async -> [ConfigurationCheck.Finding])? = nil
        ) {
            self.localDomains = localDomains
            self.filePartners = filePartners
            self.storeChanged = storeChanged
            self.links = links
            self.check = check
        }
    }

    /// The routes, with bearer-token authentication through `store` and JSON errors for every
    /// failure (unknown routes included), ready for a Hummingbird `Application`; serve them with
    /// `server(router:)` so that `GET /v1/me/events` can upgrade to a WebSocket.
    /// - Parameter admin: what the `/v1/admin` routes need; without it they answer 503
    ///   `admin-unavailable` (after checking the admin token), so a server started without the
    ///   configuration cannot apply changes under rules it does not know.
    /// - Parameter metrics: the process's metrics, served at `GET /metrics` without a token so that
    ///   Prometheus can scrape them (the API binds to an internal address); without it there is no
    ///   such route (404), since there would be nothing to render.
    package static func router<G: InternalUserGateway>(
        gateway: G,
        store: any GatewayStore,
        limits: Limits = Limits(),
        admin: AdminSettings? = nil,
        metrics: PrometheusExposition? = nil,
        eventStreamTokens: EventStreamTokens = EventStreamTokens()
    ) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        let document = ByteBuffer(string: openAPIDocument)
        router.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: ResponseBody(byteBuffer: document))
        }
        if let metrics {
            router.get("metrics") { _, _ in
                Response(
                    status: .ok,
                    headers: [.contentType: PrometheusExposition.contentType],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render()))
                )
            }
        }
        let me = router.group("v1/me").add(middleware: UserAuthentication(store: store))
        let routes = UserRoutes(gateway: gateway, limits: limits)
        me.get("presence", use: routes.presence)
        me.put("presence", use: routes.setPresence)
        me.get("contacts", use: routes.contacts)
        me.post("contacts", use: routes.addContact)
        me.delete("contacts/{jid}", use: routes.removeContact)
        me.post("subscriptions/{jid}/approve", use: routes.approve)
        me.post("subscriptions/{jid}/deny", use: routes.deny)
        me.post("messages", use: routes.sendMessage)
        me.get("history", use: HistoryRoutes(store: store).history)
        me.ws("events", shouldUpgrade: routes.shouldUpgrade) { inbound, outbound, context in
            try await EventStream.run(gateway: gateway, inbound: inbound, outbound: outbound, context: context, limits: limits, store: store, tokens: eventStreamTokens)
        }

        let administration = admin.map { Administration(store: store, localDomains: $0.localDomains) }
        let adminGroup = router.group("v1/admin").add(middleware: AdminAuthentication(store: store))
        let adminRoutes = AdminRoutes(
            administration: administration,
            filePartners: admin?.filePartners ?? { @Sendable in [] },
            limits: limits,
            storeChanged: admin?.storeChanged ?? { @Sendable _ in },
            links: admin?.links,
            check: admin?.check
        )
        adminGroup.get("domains", use: adminRoutes.domains)
        adminGroup.get("domains/{domain}", use: adminRoutes.domain)
        adminGroup.put("domains/{domain}", use: adminRoutes.allowDomain)
        adminGroup.post("domains/{domain}/block", use: adminRoutes.blockDomain)
        adminGroup.delete("domains/{domain}", use: adminRoutes.removeDomain)
        adminGroup.get("users", use: adminRoutes.users)
        adminGroup.post("users", use: adminRoutes.addUser)
        adminGroup.delete("users/{jid}", use: adminRoutes.removeUser)
        adminGroup.post("users/{jid}/token", use: adminRoutes.replaceToken)
        adminGroup.get("links", use: adminRoutes.links)
        adminGroup.get("check", use: adminRoutes.check)
        return router
    }

    /// The OpenAPI 3.1 document of this API, as shipped in the module's resources.
    package static var openAPIDocument: String {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "" }
        return text
    }
}

/// The request context of the internal API: Hummingbird's core storage plus the internal user the
/// request's bearer token speaks for, set by the authentication middleware before any user route.
package struct APIRequestContext: RequestContext, WebSocketRequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The authenticated internal user; `nil` until authentication, and on routes that need none.
    package var user: JID?
    /// The bearer token that authenticated `user`, which an event stream keeps watching.
    package var token: String?
    /// Where the event stream route leaves its WebSocket handler for the upgrade to pick up.
    package let webSocket: WebSocketHandlerReference<APIRequestContext>
    /// The connection, for an event stream to cut when its client stops reading.
    package let channel: any Channel

    package init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        user = nil
        token = nil
        webSocket = WebSocketHandlerReference()
        channel = source.channel
    }
}
