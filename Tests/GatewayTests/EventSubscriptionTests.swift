import Gateway
import GatewayCore
import NIOConcurrencyHelpers
import PresenceModel
import Testing
import Translation
import XMPP

/// The bounded buffer between the gateway and an event stream's client.
@Suite("Event subscription buffer")
struct EventSubscriptionTests {
    static let alice = try! JID("alice@contoso.example")
    static let bob = try! JID("bob@fabrikam.example/laptop")

    static func message(_ id: String, bytes: Int = 0) -> InternalEvent {
        .message(from: bob, Message(type: .chat, id: id, bodies: [LocalizedText(String(repeating: "x", count: max(1, bytes)))]))
    }

    static func ids(_ events: [InternalEvent]) -> [String?] {
        events.map { if case .message(_, let message) = $0 { message.id } else { nil } }
    }

    @Test("events come out in order; the last offline message written is reported so that it can leave the store")
    func inOrder() async {
        let reported = NIOLockedValueBox<[Int64?]>([])
        let watched = EventSubscription(user: Self.alice, capacity: 10_000, drained: { through in reported.withLockedValue { $0.append(through) } }, ended: { _ in })
        watched.push(Self.message("o1"), offlineSequence: 1)
        watched.push(Self.message("o2"), offlineSequence: 2)
        watched.push(Self.message("live"))
        var iterator = watched.makeAsyncIterator()
        #expect(Self.ids([await iterator.next()!, await iterator.next()!]) == ["o1", "o2"])
        #expect(reported.withLockedValue { $0 }.isEmpty, "o2 is in flight: not known to be written")
        #expect(Self.ids([await iterator.next()!]) == ["live"])
        #expect(reported.withLockedValue { $0 } == [2], "taking the next one means o2 was written")
        watched.close()
    }

    @Test("one event too many overflows the buffer: what was never written comes back, live events only, and the consumer stops")
    func overflow() async {
        let ends = NIOLockedValueBox<[SubscriberEnd]>([])
        let subscription = EventSubscription(user: Self.alice, capacity: 3 * 356, drained: { _ in }, ended: { end in ends.withLockedValue { $0.append(end) } })
        #expect(Self.message("a", bytes: 100).estimatedBytes == 356)
        subscription.push(Self.message("offline", bytes: 100), offlineSequence: 9)
        var iterator = subscription.makeAsyncIterator()
        _ = await iterator.next()
        #expect(subscription.push(Self.message("a", bytes: 100)) == .taken)
        #expect(subscription.push(Self.message("b", bytes: 100)) == .taken)
        #expect(subscription.push(Self.message("c", bytes: 100)) == .taken)
        #expect(subscription.push(Self.message("d", bytes: 100)) == .overflowed, "the fourth is one too many")
        #expect(subscription.overflowed)
        let end = ends.withLockedValue { $0 }
        #expect(end.count == 1 && end.first?.overflowed == true)
        #expect(Self.ids(end.first?.undelivered ?? []) == ["a", "b", "c", "d"], "the offline one in flight is still stored, not given back")
        #expect(await iterator.next() == nil)
        await subscription.untilOverflow()
        subscription.close()
        #expect(ends.withLockedValue { $0 }.count == 1, "the end is reported once")
        #expect(subscription.push(Self.message("late")) == .refused, "after the end, the event is the caller's to keep")
    }

    @Test("an event larger than the whole buffer still goes into an empty one")
    func largeEvent() async {
        let subscription = EventSubscription(user: Self.alice, capacity: 1000, drained: { _ in }, ended: { _ in })
        #expect(subscription.push(Self.message("big", bytes: 5000)) == .taken)
        #expect(subscription.push(Self.message("next")) == .overflowed, "but nothing after it until it is taken")
    }

    @Test("a consumer that closes gives back the event in flight and those buffered")
    func closed() async {
        let ends = NIOLockedValueBox<[SubscriberEnd]>([])
        let subscription = EventSubscription(user: Self.alice, capacity: 10_000, drained: { _ in }, ended: { end in ends.withLockedValue { $0.append(end) } })
        subscription.push(Self.message("taken"))
        subscription.push(Self.message("buffered"))
        var iterator = subscription.makeAsyncIterator()
        _ = await iterator.next()
        subscription.close()
        subscription.close()
        #expect(ends.withLockedValue { $0 }.map { Self.ids($0.undelivered) } == [["taken", "buffered"]])
        #expect(ends.withLockedValue { $0 }.first?.overflowed == false)
    }

    @Test("awaitDrain answers once the buffer is half empty; finish lets the consumer take what is buffered, then ends")
    func drainAndFinish() async {
        let drained = NIOLockedValueBox(0)
        let subscription = EventSubscription(user: Self.alice, capacity: 4 * 356, drained: { _ in drained.withLockedValue { $0 += 1 } }, ended: { _ in })
        for id in ["a", "b", "c", "d"] { #expect(subscription.push(Self.message(id, bytes: 100)) == .taken) }
        subscription.awaitDrain()
        #expect(drained.withLockedValue { $0 } == 0, "full")
        var iterator = subscription.makeAsyncIterator()
        _ = await iterator.next()
        #expect(drained.withLockedValue { $0 } == 0, "three of four left: not yet")
        _ = await iterator.next()
        #expect(drained.withLockedValue { $0 } == 1, "two of four: half")
        subscription.finish()
        #expect(Self.ids([await iterator.next()!, await iterator.next()!]) == ["c", "d"])
        #expect(await iterator.next() == nil)
    }
}
