import Breaker
import CoreMetrics
import Synchronization

/// A listener that reports a breaker's calls, state, call durations and transitions to swift-metrics.
///
/// ```swift
/// import Breaker
/// import BreakerMetrics
///
/// let breaker = CircuitBreaker(name: "db")
/// breaker.addListener(BreakerMetricsListener(name: "db"))           // MetricsSystem.factory
/// // or, reading the name and the current state from the breaker:
/// breaker.addListener(BreakerMetricsListener(for: breaker))
/// ```
///
/// **Metrics.** Every metric is created once, when the listener is created (swift-metrics' rule), and
/// every one carries the dimension `breaker` (the name given). The other dimensions take values from
/// fixed sets, so a breaker has a fixed number of series:
///
/// | label | kind | other dimensions | series per breaker |
/// |---|---|---|---|
/// | `breaker_calls_total` | counter | `outcome`: `success`, `failure`, `ignored`, `slow`, `rejected` | 5 |
/// | `breaker_state` | gauge | none; 0 closed, 1 half-open, 2 open | 1 |
/// | `breaker_call_duration` | timer (nanoseconds) | `outcome`: `success`, `failure`, `ignored` | 3 (none with ``Options/recordsDurations`` off) |
/// | `breaker_transitions_total` | counter | `to` and `cause`, the pairs in ``transitionDimensions`` | 19 (3 with ``Options/transitionCauses`` off: `to` only) |
/// | `breaker_failure_rate` | gauge | none; failures / calls in the window, 0...1 | 1 |
/// | `breaker_slow_call_rate` | gauge | none; slow calls / calls in the window, 0...1 | 1 |
/// | `breaker_seconds_until_trial` | gauge | none; while open, seconds until a trial is let through; else 0 | 1 |
/// | `breaker_rejections_total` | counter | `reason`: `open`, `ramping_up`, `throttled`, `limited`, `other` (``rejectionReasons``) | 5 |
/// | `breaker_admitted_fraction` | gauge | none; the fraction of calls let through: 1 closed, the ramp's less the throttle's while recovering or throttling, 0 open | 1 |
/// | `breaker_concurrency_limit` | gauge | none; the breaker's concurrency limit (`Configuration.concurrencyLimit`), 0 without one | 1 |
///
/// - `success` counts calls that succeeded or threw an excluded error; `failure` counted failures;
///   `ignored` calls the breaker did not count (cancelled, or so classified); `rejected` calls
///   rejected without running. These four are exclusive: their sum is every call.
/// - `slow` counts calls that reached the slow-call threshold (`SlowCallPolicy`), *in addition to*
///   their outcome: leave it out when summing calls.
/// - The timer records each completed call's duration under its outcome. It is off by default: it needs
///   the breaker to time every call (the listener asks for `BreakerEvent.Kinds.durations`), which costs
///   two clock reads per call, about 60 ns on a virtual machine, more than the rest of the listener.
///   Turn it on with ``Options/recordsDurations``.
/// - `breaker_transitions_total`'s `to` is `closed`, `half_open` or `open`; `cause` is a snake-case
///   `TransitionCause.Kind`, limited to the causes that can enter that state, plus `other` for a kind
///   the core may add later.
/// - The rate gauges are read from the breaker's window on each failure, slow call, rejection and
///   transition, and on every 32nd success (a rate that only successes lower lags by at most 31
///   calls). `breaker_seconds_until_trial` is set when the circuit opens and at each rejection (the
///   rejection's `retryAfter`), and to 0 when it leaves open: with no traffic it is not counted down.
/// - `breaker_rejections_total` splits `breaker_calls_total{outcome="rejected"}` by why: the circuit
///   was open (or its trials busy), it was ramping up after recovering (`RecoveryRamp`), or its adaptive
///   throttle shed the call (`AdaptiveThrottle`), or its concurrency limiter had no free slot. `breaker_admitted_fraction` is read with the rates,
///   and at every 32nd rejection of the ramp or the throttle (the first included);
///   `breaker_concurrency_limit` with the rates and at every 32nd `limited` rejection.
/// - ``help`` has a one-line description of each metric, for an exporter's `# HELP` lines (swift-metrics
///   has no place for them).
///
/// **Cost.** The listener wants the outcome of every call, so calls leave the breaker's lock-free fast
/// path (one event per call, two clock reads with the timer). Per event it does one switch and one
/// counter increment, plus one timer record for a completed call: no allocation, no lock, no string
/// work (what the metrics backend does is the backend's).
///
/// **Cardinality.** `breaker` takes one value per listener: give breakers a fixed set of names (not a
/// name per request or per host). Add one listener per breaker; a listener added to two breakers sums
/// their calls, and its gauge follows whichever changed last. Two listeners created with the same name
/// on the same factory report into the same series.
public final class BreakerMetricsListener: CircuitBreakerListener {
    /// What a ``BreakerMetricsListener`` reports.
    ///
    /// ```swift
    /// let timed = BreakerMetricsListener(name: "db", options: .init(recordsDurations: true))
    /// ```
    public struct Options: Sendable, Hashable {
        /// Whether to record call durations in `breaker_call_duration` (asking the breaker to time every
        /// call: two clock reads per call). Default `false`.
        public var recordsDurations: Bool
        /// Whether `breaker_transitions_total` has a `cause` dimension (19 series per breaker) or only
        /// `to` (3). Default `true`.
        public var transitionCauses: Bool

        /// Options with the given values; every argument has the documented default.
        ///
        /// ```swift
        /// let options = BreakerMetricsListener.Options(recordsDurations: true, transitionCauses: false)
        /// ```
        public init(recordsDurations: Bool = false, transitionCauses: Bool = true) {
            self.recordsDurations = recordsDurations
            self.transitionCauses = transitionCauses
        }
    }

    /// The label of the calls counter.
    ///
    /// ```swift
    /// try testMetrics.expectCounter(BreakerMetricsListener.callsLabel, [("breaker", "db"), ("outcome", "failure")])
    /// ```
    public static let callsLabel = "breaker_calls_total"
    /// The label of the state gauge (0 closed, 1 half-open, 2 open).
    ///
    /// ```swift
    /// try testMetrics.expectGauge(BreakerMetricsListener.stateLabel, [("breaker", "db")]).lastValue   // 2 while open
    /// ```
    public static let stateLabel = "breaker_state"
    /// The label of the call-duration timer.
    ///
    /// ```swift
    /// try testMetrics.expectTimer(BreakerMetricsListener.durationLabel, [("breaker", "db"), ("outcome", "success")])
    /// ```
    public static let durationLabel = "breaker_call_duration"
    /// The label of the transitions counter.
    ///
    /// ```swift
    /// try testMetrics.expectCounter(BreakerMetricsListener.transitionsLabel, [("breaker", "db"), ("to", "open"), ("cause", "manual")])
    /// ```
    public static let transitionsLabel = "breaker_transitions_total"
    /// The label of the failure-rate gauge (failures / calls in the window, 0...1).
    public static let failureRateLabel = "breaker_failure_rate"
    /// The label of the slow-call-rate gauge (slow calls / calls in the window, 0...1).
    public static let slowCallRateLabel = "breaker_slow_call_rate"
    /// The label of the gauge of seconds until the open circuit lets a trial through (0 when not open).
    public static let secondsUntilTrialLabel = "breaker_seconds_until_trial"
    /// The label of the rejections counter, by reason.
    ///
    /// ```swift
    /// try testMetrics.expectCounter(BreakerMetricsListener.rejectionsLabel, [("breaker", "db"), ("reason", "throttled")])
    /// ```
    public static let rejectionsLabel = "breaker_rejections_total"
    /// The label of the gauge of the fraction of calls let through (0...1).
    public static let admittedFractionLabel = "breaker_admitted_fraction"
    /// The label of the gauge of the breaker's concurrency limit (0 without one).
    public static let concurrencyLimitLabel = "breaker_concurrency_limit"

    /// A one-line description of each metric, by label, for an exporter's `# HELP` lines.
    ///
    /// ```swift
    /// BreakerMetricsListener.help["breaker_state"]   // "Circuit state: 0 closed, 1 half-open, 2 open."
    /// ```
    public static let help: [String: String] = [
        callsLabel: "Calls through the breaker by outcome (success, failure, ignored and rejected add up to every call; slow counts calls that reached the slow-call threshold, also counted under their outcome).",
        stateLabel: "Circuit state: 0 closed, 1 half-open, 2 open.",
        durationLabel: "Duration of completed calls by outcome, in nanoseconds.",
        transitionsLabel: "State transitions by target state and cause.",
        failureRateLabel: "Failures / calls in the breaker's window (0 to 1).",
        slowCallRateLabel: "Slow calls / calls in the breaker's window (0 to 1).",
        secondsUntilTrialLabel: "Seconds until the open circuit lets a trial call through; 0 when not open.",
        rejectionsLabel: "Calls rejected without running, by reason (open, ramping_up, throttled, limited, other).",
        concurrencyLimitLabel: "The breaker's concurrency limit: at most this many calls in flight (0: no limit).",
        admittedFractionLabel: "Fraction of calls the circuit lets through (1 closed, rising while it ramps up, less what its throttle sheds, 0 open).",
    ]

    /// The value of `breaker_state` for `state`: 0 closed, 1 half-open, 2 open.
    ///
    /// ```swift
    /// BreakerMetricsListener.gaugeValue(of: .halfOpen)   // 1
    /// ```
    public static func gaugeValue(of state: CircuitState) -> Int {
        switch state {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
    }

    /// The value of the `to` dimension of `breaker_transitions_total` for `state`.
    ///
    /// ```swift
    /// BreakerMetricsListener.dimensionValue(of: .halfOpen)   // "half_open"
    /// ```
    public static func dimensionValue(of state: CircuitState) -> String {
        switch state {
        case .closed: "closed"
        case .halfOpen: "half_open"
        case .open: "open"
        }
    }

    /// The values of the `outcome` dimension of `breaker_calls_total`.
    ///
    /// ```swift
    /// BreakerMetricsListener.callOutcomes   // ["success", "failure", "ignored", "slow", "rejected"]
    /// ```
    public static let callOutcomes = ["success", "failure", "ignored", "slow", "rejected"]

    /// The values of the `reason` dimension of `breaker_rejections_total`, each with the reason it counts
    /// (`other` counts any reason the core may add later).
    ///
    /// ```swift
    /// BreakerMetricsListener.rejectionReasons.map(\.label)   // ["open", "ramping_up", "throttled", "limited"]
    /// ```
    public static let rejectionReasons: [(reason: CircuitBreakerError.Reason, label: String)] = [
        (.open, "open"), (.rampingUp, "ramping_up"), (.throttled, "throttled"), (.limited, "limited"),
    ]

    /// The values of the `outcome` dimension of `breaker_call_duration`.
    ///
    /// ```swift
    /// BreakerMetricsListener.durationOutcomes   // ["success", "failure", "ignored"]
    /// ```
    public static let durationOutcomes = ["success", "failure", "ignored"]

    /// Every `(to, cause)` pair of `breaker_transitions_total` with causes on: the causes that can enter
    /// each state, and `other` for each state.
    ///
    /// ```swift
    /// BreakerMetricsListener.transitionDimensions.count   // 19
    /// ```
    public static let transitionDimensions: [(to: String, cause: String)] = transitionTable.flatMap { state, causes in
        (causes.map(\.name) + ["other"]).map { (dimensionValue(of: state), $0) }
    }

    /// The causes counted apart for each state (others count as `other`).
    private static let transitionTable: [(CircuitState, [(kind: TransitionCause.Kind, name: String)])] = [
        (.closed, [.trialsSucceeded, .manual, .modeChanged, .remote]),
        (.halfOpen, [.openPeriodElapsed, .manual, .remote]),
        (.open, TransitionCause.Kind.trips + [.manual, .modeChanged, .remote]),
    ].map { state, kinds in (state, kinds.map { ($0, $0.label) }) }

    /// The counters of one state's transitions, by cause.
    private struct TransitionCounters: Sendable {
        let byCause: [(kind: TransitionCause.Kind, counter: Counter)]
        let other: Counter

        func counter(for kind: TransitionCause.Kind) -> Counter {
            for entry in byCause where entry.kind == kind { return entry.counter }
            return other
        }
    }

    /// The value of the `breaker` dimension.
    public let name: String
    /// What this listener reports.
    public let options: Options
    /// The kinds of event this listener wants: every outcome, rejections and transitions, and call
    /// timing when ``Options/recordsDurations`` is on.
    ///
    /// ```swift
    /// BreakerMetricsListener(name: "db", options: .init(recordsDurations: true)).interests.contains(.durations)   // true
    /// ```
    public let interests: BreakerEvent.Kinds

    private let successes: Counter
    private let failures: Counter
    private let ignored: Counter
    private let slow: Counter
    private let rejections: Counter
    private let state: Gauge
    private let failureRate: Gauge
    private let slowCallRate: Gauge
    private let secondsUntilTrial: Gauge
    private let admittedFraction: Gauge
    private let concurrencyLimit: Gauge
    /// Rejections by reason, as ``rejectionReasons``, then `other`.
    private let rejectionsByReason: [Counter]
    /// Successes heard, to read the window's rates on every 32nd.
    private let successesHeard = Atomic<Int>(0)
    /// Rejections of the ramp and the throttle heard, to read the admitted fraction on every 32nd.
    private let controlledRejectionsHeard = Atomic<Int>(0)
    private let successDuration: Timer?
    private let failureDuration: Timer?
    private let ignoredDuration: Timer?
    /// Closed, half-open, open.
    private let transitions: (closed: TransitionCounters, halfOpen: TransitionCounters, open: TransitionCounters)

    /// A listener that reports under `breaker: name` to `factory`, creating every metric now and
    /// setting the state gauge to `initialState`.
    ///
    /// ```swift
    /// breaker.addListener(BreakerMetricsListener(name: "db"))
    ///
    /// // In tests, with swift-metrics' MetricsTestKit and no global bootstrap:
    /// let metrics = TestMetrics()
    /// breaker.addListener(BreakerMetricsListener(name: "db", factory: metrics))
    /// ```
    ///
    /// - Parameters:
    ///   - name: The value of the `breaker` dimension of every metric; keep it to a fixed set of names.
    ///   - factory: Where metrics are created; `MetricsSystem.factory` by default.
    ///   - options: What to report; see ``Options``.
    ///   - initialState: What `breaker_state` reads until the first transition: the breaker's state when
    ///     the listener is added (a listener hears changes, not the state it starts in). Default `.closed`.
    public init(
        name: String, factory: any MetricsFactory = MetricsSystem.factory, options: Options = Options(),
        initialState: CircuitState = .closed
    ) {
        self.name = name
        self.options = options
        let breaker = ("breaker", name)
        func calls(_ outcome: String) -> Counter {
            Counter(label: Self.callsLabel, dimensions: [breaker, ("outcome", outcome)], factory: factory)
        }
        func duration(_ outcome: String) -> Timer? {
            guard options.recordsDurations else { return nil }
            return Timer(label: Self.durationLabel, dimensions: [breaker, ("outcome", outcome)], factory: factory)
        }
        successes = calls("success")
        failures = calls("failure")
        ignored = calls("ignored")
        slow = calls("slow")
        rejections = calls("rejected")
        successDuration = duration("success")
        failureDuration = duration("failure")
        ignoredDuration = duration("ignored")
        state = Gauge(label: Self.stateLabel, dimensions: [breaker], factory: factory)
        failureRate = Gauge(label: Self.failureRateLabel, dimensions: [breaker], factory: factory)
        slowCallRate = Gauge(label: Self.slowCallRateLabel, dimensions: [breaker], factory: factory)
        secondsUntilTrial = Gauge(label: Self.secondsUntilTrialLabel, dimensions: [breaker], factory: factory)
        admittedFraction = Gauge(label: Self.admittedFractionLabel, dimensions: [breaker], factory: factory)
        concurrencyLimit = Gauge(label: Self.concurrencyLimitLabel, dimensions: [breaker], factory: factory)
        rejectionsByReason = (Self.rejectionReasons.map(\.label) + ["other"]).map {
            Counter(label: Self.rejectionsLabel, dimensions: [breaker, ("reason", $0)], factory: factory)
        }
        func counters(_ target: CircuitState) -> TransitionCounters {
            let to = ("to", Self.dimensionValue(of: target))
            guard options.transitionCauses else {
                return TransitionCounters(byCause: [], other: Counter(label: Self.transitionsLabel, dimensions: [breaker, to], factory: factory))
            }
            let causes = Self.transitionTable.first { $0.0 == target }?.1 ?? []
            return TransitionCounters(
                byCause: causes.map { cause in
                    (cause.kind, Counter(label: Self.transitionsLabel, dimensions: [breaker, to, ("cause", cause.name)], factory: factory))
                },
                other: Counter(label: Self.transitionsLabel, dimensions: [breaker, to, ("cause", "other")], factory: factory))
        }
        transitions = (counters(.closed), counters(.halfOpen), counters(.open))
        var interests: BreakerEvent.Kinds = [.succeeded, .failed, .ignored, .slow, .rejected, .stateChanged]
        if options.recordsDurations { interests.insert(.durations) }
        self.interests = interests
        state.record(Self.gaugeValue(of: initialState))
        failureRate.record(0.0)
        slowCallRate.record(0.0)
        secondsUntilTrial.record(0.0)
        admittedFraction.record(initialState == .closed ? 1.0 : 0.0)
        concurrencyLimit.record(0)
    }

    /// A listener for `breaker`: named after it (`unnamed` for a breaker without a name), with the
    /// gauge starting at its current state. Add it to that breaker.
    ///
    /// ```swift
    /// let breaker = CircuitBreaker(name: "db")
    /// breaker.addListener(BreakerMetricsListener(for: breaker))
    /// ```
    ///
    /// A transition between this initializer and `addListener` is not seen: the gauge catches up at the
    /// next one.
    public convenience init(for breaker: CircuitBreaker, factory: any MetricsFactory = MetricsSystem.factory, options: Options = Options()) {
        self.init(name: breaker.name ?? "unnamed", factory: factory, options: options, initialState: breaker.state)
    }

    /// Counts `event` (see the type's discussion); the breaker calls this.
    ///
    /// ```swift
    /// // Tests of the listener alone may call it directly:
    /// listener.handle(BreakerEvent(kind: .succeeded, duration: .milliseconds(3)), from: breaker)
    /// ```
    public func handle(_ event: BreakerEvent, from breaker: CircuitBreaker) {
        switch event.kind {
        case .succeeded:
            successes.increment()
            if let timer = successDuration, let duration = event.duration { timer.recordNanoseconds(duration.nanoseconds) }
            if successesHeard.wrappingAdd(1, ordering: .relaxed).oldValue & 31 == 31 { recordRates(of: breaker) }
        case .failed:
            failures.increment()
            if let timer = failureDuration, let duration = event.duration { timer.recordNanoseconds(duration.nanoseconds) }
            recordRates(of: breaker)
        case .rejected:
            rejections.increment()
            let reason = event.rejectionReason ?? .open
            rejectionsByReason[Self.rejectionReasons.firstIndex { $0.reason == reason } ?? Self.rejectionReasons.count].increment()
            if reason == .open {
                if let retryAfter = event.retryAfter { secondsUntilTrial.record(Self.seconds(retryAfter)) }
            } else if controlledRejectionsHeard.wrappingAdd(1, ordering: .relaxed).oldValue & 31 == 0 {
                if reason == .limited {
                    concurrencyLimit.record(breaker.concurrencyLimiter?.limit ?? 0)
                } else {
                    admittedFraction.record(breaker.metrics.admittedFraction)
                }
            }
        case .ignored:
            ignored.increment()
            if let timer = ignoredDuration, let duration = event.duration { timer.recordNanoseconds(duration.nanoseconds) }
        case .slow:
            slow.increment()
            recordRates(of: breaker)
        case .stateChanged:
            guard let change = event.change else { return }
            state.record(Self.gaugeValue(of: change.state))
            secondsUntilTrial.record(change.state == .open ? Self.seconds(change.snapshot.openRemaining ?? .zero) : 0)
            recordRates(of: breaker)
            let counters =
                switch change.state {
                case .closed: transitions.closed
                case .halfOpen: transitions.halfOpen
                case .open: transitions.open
                }
            counters.counter(for: change.cause.kind).increment()
        default:
            break
        }
    }

    /// Reads the window's rates into their gauges (the breaker's lock, briefly; never while it runs a call).
    private func recordRates(of breaker: CircuitBreaker) {
        let metrics = breaker.metrics
        failureRate.record(metrics.window.failureRate)
        slowCallRate.record(metrics.window.slowCallRate)
        admittedFraction.record(metrics.admittedFraction)
        concurrencyLimit.record(breaker.concurrencyLimiter?.limit ?? 0)
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.nanoseconds) / 1_000_000_000
    }
}
