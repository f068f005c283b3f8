import Breaker
import BreakerDemo
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("Timeline chart")
struct TimelineChartTests {
    @Test("the chart is well-formed XML with an svg root, for every scenario and policy", arguments: Scenario.allCases)
    func wellFormed(scenario: Scenario) throws {
        for policy in PolicyChoice.allCases {
            let svg = TimelineChart.svg(Simulation.run(SimulationSettings(scenario: scenario, policy: policy.settings, duration: .seconds(60))))
            let document = try SVGDocument(svg)
            #expect(document.elements.first?.name == "svg")
            #expect(document.elements.first?.attributes["xmlns"] == "http://www.w3.org/2000/svg")
        }
    }

    @Test("a band for every stretch of every state, coloured per state, in time order and contiguous")
    func bands() throws {
        let result = Simulation.run(SimulationSettings(scenario: .outage))
        let document = try SVGDocument(TimelineChart.svg(result))
        let bands = document.elements.filter { $0.classes.contains("band") }
        #expect(bands.count == result.stateSpans.count)
        for state in CircuitState.allCases {
            let ofState = bands.filter { $0.classes.contains(TimelineChart.bandClass(of: state)) }
            #expect(!ofState.isEmpty, "a \(state) band")
            #expect(ofState.allSatisfy { $0.name == "rect" && $0.attributes["fill"] == TimelineChart.color(of: state) })
        }
        let starts = bands.compactMap { $0.number("data-start") }
        let ends = bands.compactMap { $0.number("data-end") }
        #expect(starts.count == bands.count && ends.count == bands.count)
        #expect(starts.first == 0 && ends.last == 120)
        #expect(zip(starts, starts.dropFirst()).allSatisfy { $0 < $1 })
        #expect(zip(ends, starts.dropFirst()).allSatisfy { $0 == $1 })
        let xs = bands.compactMap { $0.number("x") }
        #expect(zip(xs, xs.dropFirst()).allSatisfy { $0 < $1 })
        // A legend names the three states.
        #expect(document.elements.filter { $0.classes.contains("legend-swatch") }.count == 3)
        for state in CircuitState.allCases { #expect(document.texts.contains(state.description)) }
    }

    @Test("time labels run from 0 to the end in increasing order, left to right")
    func timeLabels() throws {
        let document = try SVGDocument(TimelineChart.svg(Simulation.run(SimulationSettings(scenario: .outage))))
        let ticks = document.elements.filter { $0.classes.contains("tick") }
        let times = ticks.compactMap { $0.number("data-t") }
        #expect(times == stride(from: 0.0, through: 120, by: 10).map { $0 })
        let xs = ticks.compactMap { $0.number("x") }
        #expect(zip(xs, xs.dropFirst()).allSatisfy { $0 < $1 })
        #expect(document.texts.contains("0 s") && document.texts.contains("120 s"))

        let hour = try SVGDocument(TimelineChart.svg(Simulation.run(SimulationSettings(duration: .seconds(3600), callsPerSecond: 1))))
        let hourTimes = hour.elements.filter { $0.classes.contains("tick") }.compactMap { $0.number("data-t") }
        #expect(hourTimes.first == 0 && hourTimes.last == 3600 && zip(hourTimes, hourTimes.dropFirst()).allSatisfy { $0 < $1 })
        #expect(hour.texts.contains("60 min"))
    }

    @Test("trips are marked, and the title names the scenario and the policy")
    func tripsAndTitle() throws {
        let result = Simulation.run(SimulationSettings(scenario: .flapping, policy: PolicyChoice.consecutive.settings))
        let document = try SVGDocument(TimelineChart.svg(result))
        let marks = document.elements.filter { $0.classes.contains("trip") }.compactMap { $0.number("data-t") }
        #expect(marks.count == result.trips.count && !marks.isEmpty)
        #expect(zip(marks, marks.dropFirst()).allSatisfy { $0 < $1 })
        #expect(marks == result.trips.map { (($0.time * 1000).rounded()) / 1000 })
        // Trips from the closed state get a dashed line through each of the two panels.
        let lines = document.elements.filter { $0.classes.contains("trip-line") }
        #expect(lines.count == 2 * result.trips.filter { $0.from == .closed }.count)
        #expect(document.texts.contains("Circuit breaker timeline: flapping scenario, consecutive policy"))
        #expect(document.texts.contains { $0.contains("5 failures in a row; open 5 s") })
        // Rejections drawn as bars, one per slice that had any.
        let rejectionBars = document.elements.filter { $0.classes.contains("bar-rejected") }
        #expect(rejectionBars.count == result.slices.filter { $0.rejected > 0 }.count)
    }
}

/// An SVG document parsed with `XMLParser`: its elements in document order, and its text.
struct SVGDocument {
    struct Element {
        var name: String
        var attributes: [String: String]
        var classes: [String] { (attributes["class"] ?? "").split(separator: " ").map(String.init) }
        func number(_ attribute: String) -> Double? { attributes[attribute].flatMap(Double.init) }
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    let elements: [Element]
    let texts: [String]

    init(_ svg: String) throws {
        let collector = Collector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        guard parser.parse(), collector.problem == nil, collector.open.isEmpty, collector.roots == 1 else {
            let reason = collector.problem ?? parser.parserError.map { "\($0)" } ?? (collector.open.isEmpty ? "not one root element" : "unclosed <\(collector.open.last!)>")
            throw ParseError(description: "not well-formed XML: \(reason) (line \(parser.lineNumber))")
        }
        elements = collector.elements
        texts = collector.texts
    }

    /// Collects elements and text, and checks the nesting itself: on Linux, `XMLParser` reports
    /// some mismatched end tags without failing.
    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        var texts: [String] = []
        /// Elements started and not yet ended, outermost first.
        var open: [String] = []
        /// Elements at the top level.
        var roots = 0
        /// The first nesting error found.
        var problem: String?
        private var text = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            if open.isEmpty { roots += 1 }
            open.append(name)
            elements.append(Element(name: name, attributes: attributes))
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, parseErrorOccurred error: any Error) {
            if problem == nil { problem = "\(error)" }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if open.last == name {
                open.removeLast()
            } else if problem == nil {
                problem = "</\(name)> closes <\(open.last ?? "nothing")>"
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { texts.append(trimmed) }
            text = ""
        }
    }
}

@Suite("SVG checker")
struct SVGDocumentTests {
    @Test("the checker itself rejects XML that is not well-formed")
    func rejectsBrokenXML() {
        #expect(throws: SVGDocument.ParseError.self) { try SVGDocument("<svg><g></svg>") }
        #expect(throws: SVGDocument.ParseError.self) { try SVGDocument("<svg><text>a & b</text></svg>") }
    }
}
