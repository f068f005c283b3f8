// The code of Breaker.md, in order: each `snippet.` slice is one of its code blocks.
// SwiftPM builds it with the package; scripts/check-docs.sh runs it, so its preconditions are checked claims.

// snippet.Database
import Breaker

struct Database {
    func user(id: Int) throws -> String { "user \(id)" }
}
let database = Database()

let breaker = CircuitBreaker(name: "db", failMax: 5, resetTimeout: .seconds(60))
do {
    let user = try breaker.call { try database.user(id: 42) }
    print(user)
} catch let error as CircuitBreakerError where error.reason == .open {
    print("database unavailable, retry in \(error.retryAfter)")
}
// snippet.end
