import Foundation
package import Hummingbird
import NIOCore
import Storage

/// An error as the API reports it: an HTTP status, a stable machine-readable code clients may
/// branch on, and a message for people. Sent as `{"error": {"code": …, "message": …}}`.
package struct APIError: HTTPResponseError, Sendable, Hashable {
    package var status: HTTPResponse.Status
    /// Stable across releases: documented in `openapi.yaml`.
    package var code: String
    package var message: String

    package init(_ status: HTTPResponse.Status, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        jsonResponse()
    }

    /// The JSON error body alone, for answers written below the router (`RequestGuard`).
    static func jsonBody(code: String, message: String) -> ByteBuffer {
        JSONBody.encode(ErrorBody(error: ErrorBody.Detail(code: code, message: message)))
    }

    func jsonResponse() -> Response {
        let body = ErrorBody(error: ErrorBody.Detail(code: code, message: message))
        var response = JSONBody.response(body, status: status)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code: code, message) }

    static let storeUnavailable = APIError(
        .serviceUnavailable, code: "store-unavailable", "the gateway could not store this change; nothing was done and nothing sent: try again later"
    )

    static let missingToken = APIError(.unauthorized, code: "missing-token", "an Authorization: Bearer <token> header is needed")
    static let invalidToken = APIError(.unauthorized, code: "invalid-token", "the bearer token is unknown or revoked")

    /// A store failure: the request could not be checked, so nothing was done.
    static func storage(_ error: StorageError) -> APIError {
        APIError(.serviceUnavailable, code: "store-unavailable", error.description)
    }
}

private struct ErrorBody: Encodable {
    struct Detail: Encodable {
        var code: String
        var message: String
    }

    var error: Detail
}

/// Turns every failure into the JSON error shape, including Hummingbird's own (unknown route, wrong
/// method, body over the limit), so clients need to parse only one kind of error.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(
        _ request: Request,
        context: APIRequestContext,
        next: (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.jsonResponse()
        } catch let error as HTTPError {
            return Self.translate(error).jsonResponse()
        } catch {
            context.logger.error("internal API request failed", metadata: ["error": "\(error)"])
            return APIError(.internalServerError, code: "internal-error", "the request failed inside the gateway").jsonResponse()
        }
    }

    static func translate(_ error: HTTPError) -> APIError {
        switch error.status {
        case .notFound: APIError(.notFound, code: "not-found", "no such route")
        case .methodNotAllowed: APIError(.methodNotAllowed, code: "method-not-allowed", "the route does not take this method")
        case .contentTooLarge: APIError(.contentTooLarge, code: "body-too-large", "the request body is larger than allowed")
        default: APIError(error.status, code: "http-\(error.status.code)", error.body ?? error.status.reasonPhrase)
        }
    }
}

/// JSON in and out with one encoder and decoder configuration.
enum JSONBody {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: encode(value)))
    }

    static func encode(_ value: some Encodable) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return ByteBuffer(bytes: (try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    /// The request body decoded as `T`, read up to `limit` bytes: larger bodies are refused before
    /// they are parsed, and a body that is not the expected JSON is a 400 naming the problem.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "body-too-large", "the request body is larger than \(limit) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.badRequest("invalid-body", describe(error))
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map(\.stringValue).filter { !$0.isEmpty }
            return keys.isEmpty ? "the body" : "'\(keys.joined(separator: "."))'"
        }
        switch error {
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            let keys = (context.codingPath + [key]).map(\.stringValue)
            return "'\(keys.joined(separator: "."))' is missing"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "\(path(context)) must be \(describeType(type))"
        @unknown default:
            return "the body does not have the expected form"
        }
    }

    private static func describeType(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is [String].Type: "an array of strings"
        case is UInt32.Type, is Int.Type: "a number"
        default: "a JSON object"
        }
    }
}
