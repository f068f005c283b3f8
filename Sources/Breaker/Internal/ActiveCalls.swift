/// The breakers whose `call` is running in the current task, so that a function wrapped by the same
/// breaker (with `ignoreOnCall`) inside that call is counted once, by the outer call.
enum ActiveCalls {
    @TaskLocal static var breakers = BreakerSet()
}

/// A small set of breaker identities; one or two entries need no allocation.
struct BreakerSet: Sendable {
    private var first: ObjectIdentifier?
    private var second: ObjectIdentifier?
    private var rest: [ObjectIdentifier] = []

    func contains(_ id: ObjectIdentifier) -> Bool {
        first == id || second == id || rest.contains(id)
    }

    func inserting(_ id: ObjectIdentifier) -> BreakerSet {
        var copy = self
        if contains(id) { return copy }
        if copy.first == nil {
            copy.first = id
        } else if copy.second == nil {
            copy.second = id
        } else {
            copy.rest.append(id)
        }
        return copy
    }
}
