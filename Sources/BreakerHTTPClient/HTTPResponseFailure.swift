#if HTTPClient
import Breaker
import NIOHTTP1

/// A response whose status counts as a failure (by default 5xx and 429), as the breaker records it.
///
/// ``BreakerHTTPClient/execute(_:timeout:logger:fallback:)`` returns such a response to its caller like any
/// other and reports this error to the host's breaker, so that a trip it causes can be sized by the
/// response's `Retry-After` (see ``OpenDurationPolicy/honoringRetryAfter(maximum:otherwise:)``).
/// ``BreakerHTTPClient/execute(_:retrying:timeout:logger:fallback:)`` throws it when the attempts run out.
public struct HTTPResponseFailure: RetryAfterProviding, CustomStringConvertible {
    /// The response's status.
    public var status: HTTPResponseStatus
    /// The response's headers.
    public var headers: HTTPHeaders
    /// The wait the response's `Retry-After` asked for, if it had a valid one.
    public var retryAfter: Duration?

    /// Creates a failure; the client makes these from responses.
    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], retryAfter: Duration? = nil) {
        self.status = status
        self.headers = headers
        self.retryAfter = retryAfter
    }

    /// The status, and the wait asked for if any.
    public var description: String {
        "HTTP \(status.code) \(status.reasonPhrase)" + (retryAfter.map { ", Retry-After \($0)" } ?? "")
    }
}
#endif
