package import XMPP

/// How one DNS lookup ended, as the connection planner needs to know it. The transport produces it
/// (from a response with ``DNSMessage/lookupOutcome(for:)``, or `.timeout` when every attempt went
/// unanswered), so the planning logic can be exercised without a network.
package enum DNSLookupOutcome<Answer: Sendable & Hashable>: Sendable, Hashable {
    /// Records of the requested type. Never empty when built by this module; an empty list is
    /// treated like ``noData``.
    case answers([Answer])
    /// NOERROR without records of the type (NODATA): the name exists, the records do not.
    case noData
    /// NXDOMAIN: the name does not exist, nor any name below it (RFC 8020).
    case noSuchDomain
    /// Any other RCODE (SERVFAIL, REFUSED, FORMERR, NOTIMP, …): the resolver could not answer now,
    /// which says nothing about the name.
    case serverFailure(DNSResponseCode)
    /// No usable response arrived within the configured timeout and attempts.
    case timeout

    /// The answers, or none for every other outcome.
    package var records: [Answer] {
        if case .answers(let records) = self { records } else { [] }
    }

    /// Whether the lookup failed for reasons that may go away (SERVFAIL and kin, or a timeout), as
    /// opposed to an authoritative "no".
    package var isTemporaryFailure: Bool {
        switch self {
        case .serverFailure, .timeout: true
        case .answers, .noData, .noSuchDomain: false
        }
    }

    /// Transforms the answers, dropping those `transform` rejects; if none are left the outcome
    /// becomes ``noData``.
    package func compactMapAnswers<Other>(_ transform: (Answer) -> Other?) -> DNSLookupOutcome<Other> {
        switch self {
        case .answers(let records):
            let mapped = records.compactMap(transform)
            return mapped.isEmpty ? .noData : .answers(mapped)
        case .noData: return .noData
        case .noSuchDomain: return .noSuchDomain
        case .serverFailure(let code): return .serverFailure(code)
        case .timeout: return .timeout
        }
    }
}

extension DNSLookupOutcome where Answer == DNSRecordData {
    /// The SRV records among the answers.
    package var srvRecords: DNSLookupOutcome<SRVRecord> {
        compactMapAnswers { if case .srv(let record) = $0 { record } else { nil } }
    }

    /// The IPv4 addresses among the answers.
    package var ipv4Addresses: DNSLookupOutcome<IPv4Address> {
        compactMapAnswers { if case .a(let address) = $0 { address } else { nil } }
    }

    /// The IPv6 addresses among the answers.
    package var ipv6Addresses: DNSLookupOutcome<IPv6Address> {
        compactMapAnswers { if case .aaaa(let address) = $0 { address } else { nil } }
    }
}

/// Why a response cannot be taken as the answer to a query. The transport should keep waiting for
/// the real answer after ``notAResponse``, ``idMismatch`` and ``questionMismatch`` (they are what
/// spoofed or stray datagrams look like) and repeat the query over TCP after ``truncated``.
package enum DNSResponseError: Error, Sendable, Hashable {
    /// The QR bit is clear, or the OPCODE is not a standard query.
    case notAResponse
    /// The id differs from the query's.
    case idMismatch(expected: UInt16, received: UInt16)
    /// The response does not repeat exactly the question asked (name compared case-insensitively).
    case questionMismatch
    /// TC is set: the answer did not fit in a datagram.
    case truncated
}

extension DNSMessage {
    /// At most this many CNAME links are followed; resolvers give up after a handful too.
    static let maximumAliasChain = 16

    /// What this response says about `query`: its RCODE, and the answer records of the asked type
    /// owned by the queried name or, through CNAME records in the answer section, by its canonical
    /// name. Records owned by other names are ignored, so an answer section cannot slip in
    /// addresses for a host nobody asked about.
    ///
    /// A CNAME chain that loops, is longer than 16 links, or ends at a name with no records here
    /// gives ``DNSLookupOutcome/noData``: a recursive resolver has already followed the chain as far
    /// as it goes.
    package func lookupOutcome(for query: DNSQuery) throws(DNSResponseError) -> DNSLookupOutcome<DNSRecordData> {
        guard header.isResponse, header.opcode == 0 else { throw .notAResponse }
        guard header.id == query.id else { throw .idMismatch(expected: query.id, received: header.id) }
        guard questions == [query.question] else { throw .questionMismatch }
        guard !header.isTruncated else { throw .truncated }
        switch header.responseCode {
        case .noError: break
        case .nameError: return .noSuchDomain
        default: return .serverFailure(header.responseCode)
        }
        var owner = query.question.name
        var visited: Set<DNSName> = [owner]
        for _ in 0...Self.maximumAliasChain {
            let owned = answers.filter { $0.name == owner && $0.recordClass == query.question.recordClass }
            let matching = owned.filter { $0.type == query.question.type }.map(\.data)
            if !matching.isEmpty { return .answers(matching) }
            guard query.question.type != .cname,
                let alias = owned.lazy.compactMap({ record -> DNSName? in
                    if case .cname(let target) = record.data { target } else { nil }
                }).first,
                visited.insert(alias).inserted
            else { return .noData }
            owner = alias
        }
        return .noData
    }
}
