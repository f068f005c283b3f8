// The code of RunningAFleet.md, in order: each `snippet.` slice is one of its code blocks.
// SwiftPM builds it with the package; scripts/check-docs.sh runs it, so its preconditions are checked claims.

// snippet.hide
#if Redis
// snippet.show

// snippet.fleet
import Breaker
import BreakerRedis
import Logging
import ServiceLifecycle

let fleet = try RedisFleet(url: "redis://redis.internal:6379")
let payments = CircuitBreaker(name: "payments", failMax: 5, resetTimeout: .seconds(30), storage: fleet.storage(named: "payments"))
let registry = try CircuitBreakerRegistry(storage: { name in fleet.storage(named: name) })

func serve(_ application: any Service) async throws {
    let services: [any Service] = [fleet, application]
    try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm], logger: Logger(label: "app")).run()
    // Without ServiceLifecycle: try await fleet.run()
}
precondition(payments.state == .closed && registry.breaker(named: "search").state == .closed)
// snippet.end

// snippet.monitored
let monitored = try RedisFleet(url: "redis-sentinel://:secret@sentinel-a:26379,sentinel-b:26379,sentinel-c:26379/payments-master")
// snippet.end

// snippet.sentinelClient
var sentinelClient = try RedisConfiguration(url: "redis-sentinel://:secret@sentinel-a,sentinel-b/payments-master")
sentinelClient.sentinel?.password = "the sentinels' password"
let guarded = try RedisFleet(redis: sentinelClient)
// snippet.end

// snippet.hide
#endif
