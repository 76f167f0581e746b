import Foundation
package import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin API from the client side, for commands that ask the running server what only it
/// knows (`consulate links`): the store holds users and the allowlist, but live links exist only
/// in the gateway's memory. One request per connection, over loopback or the API's internal
/// address, with an admin token.
package struct AdminClient: Sendable {
    /// Where the API listens: `[api]`'s address (a wildcard address is reached on loopback) and port.
    package var host: String
    package var port: Int
    package var token: String
    /// The longest the whole exchange may take.
    package var timeout: TimeAmount
    /// Answers longer than this are refused rather than buffered.
    package var maxResponseBytes: Int

    package init(address: String, port: Int, token: String, timeout: TimeAmount = .seconds(10), maxResponseBytes: Int = 16 << 20) {
        switch address {
        case "0.0.0.0", "": host = "127.0.0.1"
        case "::", "[::]": host = "::1"
        default: host = address.hasPrefix("[") && address.hasSuffix("]") ? String(address.dropFirst().dropLast()) : address
        }
        self.port = port
        self.token = token
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// `host:port`, an IPv6 address in brackets: the `Host` header's form.
    var authority: String {
        "\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// `http://host:port`, for messages.
    package var baseURL: String { "http://\(authority)" }

    /// `GET /v1/admin/links`.
    package func links() async throws(AdminClientError) -> LinkList {
        let (status, body) = try await get("/v1/admin/links")
        guard status == .ok else { throw AdminClientError.refused(status: status.code, Self.errorMessage(body)) }
        do {
            return try JSONDecoder().decode(LinkList.self, from: Data(body.readableBytesView))
        } catch {
            throw AdminClientError.unexpectedAnswer("\(baseURL)/v1/admin/links answered with JSON that is not a link list: \(error)")
        }
    }

    /// One GET with the admin token; the status and the whole body.
    private func get(_ path: String) async throws(AdminClientError) -> (HTTPResponseStatus, ByteBuffer) {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw AdminClientError.unreachable("nothing answers at \(baseURL) ([api] in the configuration): is `consulate serve` running? (\(error))")
        }
        let request = HTTPRequestHead(
            version: .http1_1,
            method: .GET,
            uri: path,
            headers: ["Host": authority, "Authorization": "Bearer \(token)", "Accept": "application/json", "Connection": "close"]
        )
        let limit = maxResponseBytes
        let deadline = timeout
        let url = baseURL + path
        do {
            return try await withThrowingTaskGroup(of: (HTTPResponseStatus, ByteBuffer).self) { group in
                group.addTask {
                    try await channel.executeThenClose { inbound, outbound in
                        try await outbound.write(.head(request))
                        try await outbound.write(.end(nil))
                        var status: HTTPResponseStatus?
                        var body = ByteBuffer()
                        for try await part in inbound {
                            switch part {
                            case .head(let head):
                                status = head.status
                            case .body(var chunk):
                                guard body.readableBytes + chunk.readableBytes <= limit else {
                                    throw AdminClientError.unexpectedAnswer("\(url) answered with more than \(limit) bytes")
                                }
                                body.writeBuffer(&chunk)
                            case .end:
                                guard let status else { break }
                                return (status, body)
                            }
                        }
                        throw AdminClientError.unexpectedAnswer("\(url) closed the connection before a whole answer")
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .nanoseconds(deadline.nanoseconds))
                    throw AdminClientError.unreachable("\(url) did not answer within \(deadline.nanoseconds / 1_000_000) ms")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch let error as AdminClientError {
            try? await channel.channel.close()
            throw error
        } catch {
            try? await channel.channel.close()
            throw AdminClientError.unreachable("the request to \(url) failed: \(error)")
        }
    }

    /// The message of the API's JSON error, or the body as text.
    private static func errorMessage(_ body: ByteBuffer) -> String {
        struct ErrorBody: Decodable {
            struct Detail: Decodable { var code: String, message: String }
            var error: Detail
        }
        if let decoded = try? JSONDecoder().decode(ErrorBody.self, from: Data(body.readableBytesView)) {
            return "\(decoded.error.message) (\(decoded.error.code))"
        }
        return String(buffer: body)
    }
}

/// Why `AdminClient` got no answer it could use.
package enum AdminClientError: Error, Sendable, CustomStringConvertible {
    /// No connection, or no answer in time.
    case unreachable(String)
    /// The API refused the request: its status and error message.
    case refused(status: UInt, String)
    /// An answer that is not what the API documents.
    case unexpectedAnswer(String)

    package var description: String {
        switch self {
        case .unreachable(let message), .unexpectedAnswer(let message): message
        case .refused(let status, let message): "the internal API refused the request with \(status): \(message)"
        }
    }
}
