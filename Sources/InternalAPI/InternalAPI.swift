import Foundation
public import Gateway
public import Hummingbird
public import PresenceModel
public import Storage
public import Translation
public import XMPP

/// What the internal API needs of the running gateway: actions applied in the gateway's one serial
/// order, and the directory read back after them. A protocol so the routes do not depend on how
/// the gateway is started; `Gateway` is the one implementation, and tests use a real one.
public protocol InternalUserGateway: Sendable {
    /// Performs the action and returns once it has been handled, so a read that follows sees it.
    func apply(_ action: InternalAction) async
    /// The internal user as the gateway now knows them, or `nil` when it knows no such user.
    func user(_ jid: JID) async -> InternalUser?
}

extension Gateway: InternalUserGateway {}

/// The internal users' HTTP API (JSON over HTTP, on Hummingbird): the only way internal users and
/// the systems acting for them reach the gateway. Every route maps onto one `InternalAction`, so the
/// API adds authentication and input checking but no behaviour of its own; the document describing
/// it is `openapi.yaml`, served at `GET /openapi.yaml`.
public enum InternalAPI {
    /// Limits on what a client may send.
    public struct Limits: Sendable, Hashable {
        /// The largest request body accepted; larger ones get 413 `body-too-large` and change nothing.
        public var maxBodyBytes: Int

        public init(maxBodyBytes: Int = 64 * 1024) {
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// The routes, with bearer-token authentication through `store` and JSON errors for every
    /// failure (unknown routes included), ready for a Hummingbird `Application`.
    public static func router(
        gateway: some InternalUserGateway,
        store: any GatewayStore,
        limits: Limits = Limits()
    ) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        let document = ByteBuffer(string: openAPIDocument)
        router.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: ResponseBody(byteBuffer: document))
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
        return router
    }

    /// The OpenAPI 3.1 document of this API, as shipped in the module's resources.
    public static var openAPIDocument: String {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "" }
        return text
    }
}

/// The request context of the internal API: Hummingbird's core storage plus the internal user the
/// request's bearer token speaks for, set by the authentication middleware before any user route.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated internal user; `nil` until authentication, and on routes that need none.
    public var user: JID?

    public init(source: Source) {
        coreContext = CoreRequestContextStorage(source: source)
        user = nil
    }
}
