#if HTTPClient
import Testing

@testable import BreakerHTTPClient

@Suite("Retry-After values")
struct RetryAfterTests {
    /// 1994-11-06 08:49:37 UTC, the RFC's example date.
    static let example: Double = 784_111_777

    @Test(arguments: ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"])
    func everyHTTPDateFormReadsTheSameInstant(_ text: String) {
        #expect(RetryAfter.httpDate(text) == Self.example)
    }

    @Test func secondsAndDatesBecomeWaits() {
        #expect(RetryAfter.wait("120", reference: 0) == .seconds(120))
        #expect(RetryAfter.wait(" 2 ", reference: 0) == .seconds(2))
        #expect(RetryAfter.wait("Sun, 06 Nov 1994 08:49:37 GMT", reference: Self.example - 30) == .seconds(30))
        #expect(RetryAfter.wait("Sun, 06 Nov 1994 08:49:37 GMT", reference: Self.example + 30) == nil, "a date past is no wait")
    }

    @Test(arguments: ["", "-5", "soon", "1.5", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994"])
    func malformedValuesAskForNothing(_ text: String) {
        #expect(RetryAfter.wait(text, reference: 0) == nil)
    }
}
#endif
