/// Stands in for a user closure where equality and hashing need one, since closures cannot be
/// compared: made when the closure is given and kept beside it, so that copies of a policy compare
/// equal and two closures given separately never do, even when they are the same code.
final class ClosureIdentity: Sendable, Hashable {
    static func == (lhs: ClosureIdentity, rhs: ClosureIdentity) -> Bool { lhs === rhs }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
