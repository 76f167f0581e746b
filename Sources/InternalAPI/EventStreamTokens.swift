import NIOConcurrencyHelpers
package import Storage
import XMPP

/// The tokens the open event streams were authenticated with, so that a stream ends when its token
/// does: `consulate users token`, `POST /v1/admin/users/{jid}/token` and a user's removal revoke
/// tokens in the store, and whoever applies that change to the running server calls `recheck`.
/// A WebSocket outlives the request that authenticated it, so without this a revoked token would
/// keep receiving its user's messages.
package final class EventStreamTokens: Sendable {
    private struct Watched {
        var token: String
        var user: JID
        var revoked: CheckedContinuation<Void, Never>?
        var isRevoked = false
    }

    private struct State {
        var streams: [UInt64: Watched] = [:]
        var added: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    /// How many streams are watched.
    package var count: Int { state.withLockedValue { $0.streams.count } }

    /// Watches `token`, which authenticated `user`'s stream, until `body` returns; `body` is given
    /// a function that returns once the token is revoked (or the task is cancelled).
    func watching<T>(token: String, user: JID, _ body: (_ untilRevoked: @escaping @Sendable () async -> Void) async throws -> T) async rethrows -> T {
        let id = state.withLockedValue { state -> UInt64 in
            state.added += 1
            state.streams[state.added] = Watched(token: token, user: user)
            return state.added
        }
        defer { state.withLockedValue { $0.streams.removeValue(forKey: id) }?.revoked?.resume() }
        return try await body { [state] in
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLockedValue { state -> Bool in
                        guard state.streams[id]?.isRevoked == false, !Task.isCancelled else { return true }
                        state.streams[id]?.revoked = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                state.withLockedValue { state in
                    defer { state.streams[id]?.revoked = nil }
                    return state.streams[id]?.revoked
                }?.resume()
            }
        }
    }

    /// Looks every watched token up again in `store`: the streams of those that no longer name
    /// their user are told. A token the store cannot be asked about is left alone (the store is
    /// failing; the next change rechecks it). Returns how many were revoked.
    @discardableResult
    package func recheck(in store: any GatewayStore) async -> Int {
        let watched = state.withLockedValue { state in state.streams.filter { !$0.value.isRevoked }.map { ($0.key, $0.value.token, $0.value.user) } }
        var owners: [String: TokenOwner?] = [:]
        var revoked = 0
        for (id, token, user) in watched {
            let owner: TokenOwner?
            if let known = owners[token] {
                owner = known
            } else {
                do {
                    owner = try await store.owner(ofToken: token)
                } catch {
                    continue
                }
                owners[token] = owner
            }
            guard owner != .user(user) else { continue }
            // Only a stream still watched and not yet told counts: one may have ended, or another
            // recheck may have told it, meanwhile.
            let told: (Bool, CheckedContinuation<Void, Never>?) = state.withLockedValue { state in
                guard let watched = state.streams[id], !watched.isRevoked else { return (false, nil) }
                state.streams[id]?.isRevoked = true
                state.streams[id]?.revoked = nil
                return (true, watched.revoked)
            }
            if told.0 { revoked += 1 }
            told.1?.resume()
        }
        return revoked
    }
}
