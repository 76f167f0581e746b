import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import InternalAPI
import Testing

/// `openapi.yaml` and the router describe the same API: every route is documented and every
/// documented operation exists.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    /// `METHOD /path` for every operation under `paths:`. The document keeps paths at two spaces of
    /// indentation and methods at four, which this reads without a YAML library.
    static func documentedOperations(_ document: String) -> Set<String> {
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        var operations: Set<String> = []
        var inPaths = false
        var path: String?
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" "), !line.isEmpty {
                inPaths = line == "paths:"
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path {
                let key = line.dropFirst(4).prefix { $0 != ":" }
                if methods.contains(String(key)) { operations.insert("\(key.uppercased()) \(path)") }
            }
        }
        return operations
    }

    @Test("the router's routes and the document's paths and methods agree")
    func routesAgree() async throws {
        try await APIHarness.with { harness in
            // With an exposition, so that the optional `/metrics` route is there to compare.
            let router = InternalAPI.router(gateway: harness.contoso, store: harness.store, metrics: PrometheusExposition())
            let routes = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
            let documented = Self.documentedOperations(InternalAPI.openAPIDocument)
            #expect(documented.count >= 9, "the document was read: \(documented.sorted())")
            #expect(routes.subtracting(documented).isEmpty, "routes missing from openapi.yaml: \(routes.subtracting(documented).sorted())")
            #expect(documented.subtracting(routes).isEmpty, "documented but not routed: \(documented.subtracting(routes).sorted())")
        }
    }

    @Test("the document is OpenAPI 3.1 and is served at /openapi.yaml without a token")
    func served() async throws {
        let document = InternalAPI.openAPIDocument
        #expect(document.hasPrefix("openapi: 3.1."))
        try await APIHarness.with { harness in
            try await harness.application().test(.router) { client in
                let response = try await client.execute(uri: "/openapi.yaml", method: .get)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/yaml")
                #expect(response.text == document)
            }
        }
    }
}
