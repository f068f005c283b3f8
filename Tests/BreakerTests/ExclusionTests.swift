import Breaker
import BreakerTestKit
import Testing

@Suite("Excluding errors (aiobreaker §3.5)")
struct ExclusionTests {
    @Test func anExcludedTypeCountsAsASuccessAndIsRethrown() throws {
        let f = Fixture(failMax: 2, exclude: [.type(Benign.self)])
        f.fail()
        #expect(f.fail(Benign()) is Benign)
        #expect(f.breaker.failureCount == 0, "an excluded error resets the counter, like a success")
        #expect(f.recorder.events.suffix(2) == [.beforeCall, .success])
    }

    @Test func classTypesMatchSubclasses() {
        let f = Fixture(failMax: 1, exclude: [.type(DatabaseError.self)])
        #expect(f.fail(LockedDatabase()) is LockedDatabase)
        #expect(f.breaker.state == .closed)
        #expect(!f.breaker.isFailure(LockedDatabase()))
        #expect(f.breaker.isFailure(Boom()))
    }

    @Test func predicatesAndTypesMix() {
        let f = Fixture(failMax: 1, exclude: [.type(Benign.self), .matching { ($0 as? HTTPError).map { $0.status < 500 } ?? false }])
        #expect(!f.breaker.isFailure(Benign()))
        #expect(!f.breaker.isFailure(HTTPError(status: 404)))
        #expect(f.breaker.isFailure(HTTPError(status: 503)))
        #expect(f.fail(HTTPError(status: 404)) as? HTTPError == HTTPError(status: 404))
        #expect(f.breaker.state == .closed)
        #expect(f.fail(HTTPError(status: 500)).breakerError?.reason == .tripped)
    }

    @Test func exclusionsAreAddedAndRemovedAtRunTime() {
        let f = Fixture(failMax: 1)
        let notFound = ErrorFilter.matching { ($0 as? HTTPError)?.status == 404 }
        f.breaker.addExcluded(.type(Benign.self))
        f.breaker.addExcluded(notFound)
        #expect(f.breaker.excluded == [.type(Benign.self), notFound])
        #expect(!f.breaker.isFailure(HTTPError(status: 404)))
        #expect(f.breaker.removeExcluded(notFound))
        #expect(f.breaker.isFailure(HTTPError(status: 404)))
        #expect(f.breaker.removeExcluded(.type(Benign.self)), "a type filter is removed by naming the type again")
        #expect(f.breaker.isFailure(Benign()))
        #expect(!f.breaker.removeExcluded(.type(Benign.self)))
        #expect(f.breaker.excluded.isEmpty)
    }

    @Test func filterEquality() {
        let predicate = ErrorFilter.matching { _ in true }
        #expect(ErrorFilter.type(Benign.self) == .type(Benign.self))
        #expect(ErrorFilter.type(Benign.self) != .type(Boom.self))
        #expect(predicate == predicate)
        #expect(predicate != .matching { _ in true }, "a predicate equals only itself")
        #expect(Set([ErrorFilter.type(Benign.self), .type(Benign.self), predicate]).count == 2)
    }

    @Test func cancellationIsAFailureOnlyWhenTheTaskWasNotCancelled() async {
        let f = Fixture()
        #expect(f.breaker.isFailure(CancellationError()))
        #expect(await inCancelledTask { !f.breaker.isFailure(CancellationError()) })
    }
}
