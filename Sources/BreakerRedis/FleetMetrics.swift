#if Redis
import CoreMetrics

/// What a ``RedisFleet`` reports to swift-metrics, every metric created once with the fleet and
/// carrying the dimension `fleet` (the namespace):
///
/// | label | kind | what |
/// |---|---|---|
/// | `breaker_fleet_sharing` | gauge | 1 while the fleet shares its circuits (``FleetStatus/isSharing``), else 0: alert when it stays 0 |
/// | `breaker_fleet_publish_duration` | timer (nanoseconds) | from a change leaving the publisher to Redis's answer |
/// | `breaker_fleet_changes_applied_total` | counter | changes made by other instances and applied here (published, or caught up) |
/// | `breaker_fleet_catch_ups_total` | counter | breakers that read the stored state again (a start, a return of Redis, a retry) |
/// | `breaker_fleet_failures_total` | counter | exchanges with Redis that failed, and subscriptions lost (each is retried with backoff) |
///
/// They go to `MetricsSystem.factory` unless `FleetConfiguration.metricsFactory` names another.
struct FleetMetrics: Sendable {
    let sharing: Gauge
    let publishDuration: Timer
    let changesApplied: Counter
    let catchUps: Counter
    let failures: Counter

    init(namespace: String, factory: any MetricsFactory) {
        let dimensions = [("fleet", namespace)]
        sharing = Gauge(label: "breaker_fleet_sharing", dimensions: dimensions, factory: factory)
        publishDuration = Timer(label: "breaker_fleet_publish_duration", dimensions: dimensions, factory: factory)
        changesApplied = Counter(label: "breaker_fleet_changes_applied_total", dimensions: dimensions, factory: factory)
        catchUps = Counter(label: "breaker_fleet_catch_ups_total", dimensions: dimensions, factory: factory)
        failures = Counter(label: "breaker_fleet_failures_total", dimensions: dimensions, factory: factory)
        sharing.record(0)
    }
}
#endif
