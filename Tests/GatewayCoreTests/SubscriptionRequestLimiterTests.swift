import Federation
import GatewayCore
import Testing

@Suite("Subscription requests: a rate per partner")
struct SubscriptionRequestLimiterTests {
    static func at(_ seconds: Double) -> LinkInstant { LinkInstant(sinceOrigin: .milliseconds(Int64(seconds * 1000))) }

    @Test("a minute's worth at once, then one per share of the minute")
    func burstThenSteady() {
        var limiter = SubscriptionRequestLimiter()
        let admitted = (0..<10).map { _ in limiter.admit(partner: "fabrikam.example", at: Self.at(0), perMinute: 6) }
        #expect(admitted.filter { $0 == .admitted }.count == 6)
        #expect(admitted[6] == .refused(first: true))
        #expect(admitted[7] == .refused(first: false), "only the first refusal is to be logged")
        #expect(limiter.admit(partner: "fabrikam.example", at: Self.at(9.9), perMinute: 6) != .admitted, "one share is 10 s")
        #expect(limiter.admit(partner: "fabrikam.example", at: Self.at(10), perMinute: 6) == .admitted)
        #expect(limiter.admit(partner: "fabrikam.example", at: Self.at(10), perMinute: 6) == .refused(first: true))
    }

    @Test("partners are counted apart")
    func partnersApart() {
        var limiter = SubscriptionRequestLimiter()
        #expect(limiter.admit(partner: "fabrikam.example", at: Self.at(0), perMinute: 1) == .admitted)
        #expect(limiter.admit(partner: "fabrikam.example", at: Self.at(0), perMinute: 1) == .refused(first: true))
        #expect(limiter.admit(partner: "*.tailspin.example", at: Self.at(0), perMinute: 1) == .admitted)
    }

    @Test("partners whose minute is whole again are forgotten: what it holds stays bounded")
    func forgets() {
        var limiter = SubscriptionRequestLimiter()
        for index in 0..<1000 {
            _ = limiter.admit(partner: "p\(index).example", at: Self.at(0), perMinute: 60)
        }
        #expect(limiter.count <= 1000)
        for index in 0..<200 {
            _ = limiter.admit(partner: "q\(index).example", at: Self.at(61), perMinute: 60)
        }
        #expect(limiter.count <= 200, "\(limiter.count) partners held a minute later")
    }
}
