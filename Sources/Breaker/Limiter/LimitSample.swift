/// What a limit algorithm learns from one finished call: how long it ran, how many calls were in
/// flight when it was admitted (itself included), and whether it was a drop (a failure or a timeout, as
/// ``ConcurrencyLimiter/DropPolicy`` says).
///
/// The algorithms are plain values that take samples and return the new limit, with no clock and no
/// lock: ``ConcurrencyLimiter`` reads the clock, decides the drop, and feeds them under its lock.
package struct LimitSample: Sendable, Hashable {
    /// How long the call ran, in nanoseconds, from admission to its end (a wait for a slot excluded).
    package var rtt: Int64
    /// The calls in flight when this one was admitted, itself included.
    package var inFlight: Int
    /// Whether the call counts as a drop: a sign of overload that an AIMD limit backs off on.
    package var dropped: Bool

    /// A sample of a call that ran `rtt` nanoseconds.
    package init(rtt: Int64, inFlight: Int, dropped: Bool = false) {
        self.rtt = rtt
        self.inFlight = inFlight
        self.dropped = dropped
    }

    /// A sample of a call that ran for `rtt`.
    package init(rtt: Duration, inFlight: Int, dropped: Bool = false) {
        self.init(rtt: rtt.nanoseconds, inFlight: inFlight, dropped: dropped)
    }
}
