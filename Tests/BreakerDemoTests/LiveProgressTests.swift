import Breaker
import BreakerDemo
import Testing

@Suite("Live progress")
struct LiveProgressTests {
    @Test("the status line fits 80 columns and shows the state, a strip and the counts")
    func statusLine() {
        let result = Simulation.run(SimulationSettings(scenario: .outage))
        for index in result.slices.indices {
            let line = LiveProgress.statusLine(result, through: index, style: .plain)
            #expect(line.count <= 80, "\(line)")
            #expect(line.contains(result.slices[index].stateAtEnd.description))
        }
        let last = LiveProgress.statusLine(result, through: result.slices.count - 1, style: .plain)
        #expect(last.contains("120/120 s") && last.contains("2,400 calls") && last.contains("█") && last.contains("▁"))
        #expect(!last.contains("\u{1B}"))
        #expect(LiveProgress.statusLine(result, through: 0, style: .ansi).contains("\u{1B}["))
    }

    @Test("plain lines come about every tenth of the run, ending with the last slice")
    func plainLines() {
        let result = Simulation.run(SimulationSettings(scenario: .outage))
        let indices = LiveProgress.plainLineSlices(result)
        #expect(indices == Array(stride(from: 11, to: 120, by: 12)))
        let line = LiveProgress.plainLine(result, through: 119)
        #expect(line.contains("t= 120.0 s") && line.contains("calls 2,400") && line.contains("rejected \(ReportTests.grouped(result.totals.rejected))"))
    }
}
