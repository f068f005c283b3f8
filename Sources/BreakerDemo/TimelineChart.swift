import Breaker

/// A run drawn as an SVG timeline: what the dependency did, the breaker's state as coloured bands,
/// the failure rate of calls let through as a line, the calls of each slice as stacked bars
/// (succeeded, failed, rejected), trips marked, time along the bottom. Plain SVG text, no dependencies.
public enum TimelineChart {
    /// Colours of the three states: closed green, open red, half-open amber.
    public static func color(of state: CircuitState) -> String {
        switch state {
        case .closed: "#2e9d5b"
        case .open: "#d64545"
        case .halfOpen: "#f0a202"
        }
    }

    /// The class of a state's band: `band-closed`, `band-open`, `band-half-open`.
    public static func bandClass(of state: CircuitState) -> String {
        switch state {
        case .closed: "band-closed"
        case .open: "band-open"
        case .halfOpen: "band-half-open"
        }
    }

    /// The SVG document for `result`.
    public static func svg(_ result: SimulationResult) -> String {
        var chart = Canvas(result: result)
        chart.draw()
        return chart.document
    }
}

/// Lays out and writes one chart.
private struct Canvas {
    let result: SimulationResult
    var body: [String] = []

    // Geometry, in pixels.
    let width = 1100.0
    let height = 562.0
    let left = 124.0
    let right = 96.0
    var plotWidth: Double { width - left - right }
    let dependencyTop = 124.0, dependencyHeight = 18.0
    let bandTop = 150.0, bandHeight = 34.0
    let rateTop = 220.0, rateHeight = 118.0
    let callsTop = 372.0, callsHeight = 104.0
    var bottom: Double { callsTop + callsHeight }

    // Colours.
    let ink = "#1f2937", muted = "#6b7280", grid = "#e5e7eb"
    let succeeded = "#9dbbdc", failed = "#374151", rejected = "#f28b82"
    let slowColor = "#8b5cf6", windowColor = "#c2410c", windowSlowColor = "#5b21b6", tripColor = "#b91c1c", axisLine = "#9ca3af"

    init(result: SimulationResult) { self.result = result }

    var document: String {
        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(n(width))" height="\#(n(height))" viewBox="0 0 \#(n(width)) \#(n(height))" font-family="'DejaVu Sans', 'Segoe UI', Helvetica, Arial, sans-serif">"#,
            "<title>\(escape(title))</title>",
            "<style>",
            "  text { fill: \(ink); font-size: 12px; }",
            "  .title { font-size: 21px; font-weight: bold; }",
            "  .sub { font-size: 13px; fill: #4b5563; }",
            "  .caption { font-size: 12px; font-weight: bold; fill: #374151; }",
            "  .axis, .tick { font-size: 11px; fill: \(muted); }",
            "  .inband { font-size: 11px; font-weight: bold; }",
            "  .footer { font-size: 13px; fill: #374151; }",
            "</style>",
            #"<rect x="0" y="0" width="\#(n(width))" height="\#(n(height))" fill="white"/>"#,
        ]
        lines += body
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }

    var title: String {
        "Circuit breaker timeline: \(result.settings.scenario) scenario, \(result.settings.policy.name) policy"
    }

    mutating func draw() {
        drawHeading()
        drawLegend()
        drawGrid()
        drawDependency()
        drawBands()
        drawRatePanel()
        drawCallsPanel()
        drawTrips()
        drawTimeAxis()
        drawFooter()
    }

    // MARK: Scales

    func x(_ seconds: Double) -> Double { left + plotWidth * min(max(seconds / result.duration, 0), 1) }

    /// The tick step, in seconds, giving at most 12 intervals.
    var tickStep: Double {
        let candidates: [Double] = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600]
        return candidates.first { result.duration / $0 <= 12 } ?? 3600
    }

    func tickLabel(_ seconds: Double) -> String {
        if tickStep >= 60 && tickStep.truncatingRemainder(dividingBy: 60) == 0 { return "\(Format.trimmed(seconds / 60, decimals: 1)) min" }
        return "\(Format.trimmed(seconds, decimals: 1)) s"
    }

    // MARK: Parts

    mutating func drawHeading() {
        text(24, 36, title, class: "title")
        text(24, 60, "dependency: \(result.dependency.story)", class: "sub")
        text(24, 79, "breaker: \(result.settings.policy.summary)", class: "sub")
    }

    mutating func drawLegend() {
        enum Mark { case swatch, line(Double), bar, trip }
        var items: [(Mark, String, String)] = [CircuitState.closed, .halfOpen, .open].map { (.swatch, TimelineChart.color(of: $0), $0.description) }
        items.append((.line(1.4), ink, "failure rate"))
        if hasWindowFailureRate { items.append((.line(2.6), windowColor, "in the breaker's window")) }
        if showsSlowShare { items.append((.line(1.4), slowColor, "slow share")) }
        if hasWindowSlowRate { items.append((.line(2.6), windowSlowColor, "slow, in the window")) }
        items += [(.bar, succeeded, "succeeded"), (.bar, failed, "failed"), (.bar, rejected, "rejected"), (.trip, tripColor, "trip")]
        var cursor = 24.0
        let y = 104.0
        for (mark, color, label) in items {
            switch mark {
            case .swatch:
                body.append(#"<rect class="legend-swatch" x="\#(n(cursor))" y="\#(n(y - 10))" width="16" height="12" rx="2" fill="\#(color)"/>"#)
            case .line(let width):
                body.append(#"<line x1="\#(n(cursor))" y1="\#(n(y - 4))" x2="\#(n(cursor + 16))" y2="\#(n(y - 4))" stroke="\#(color)" stroke-width="\#(n(width))"/>"#)
            case .bar:
                body.append(#"<rect x="\#(n(cursor + 2))" y="\#(n(y - 10))" width="12" height="12" fill="\#(color)"/>"#)
            case .trip:
                body.append(#"<path d="M\#(n(cursor + 2)) \#(n(y - 10)) h12 l-6 10 z" fill="\#(color)"/>"#)
            }
            text(cursor + 21, y, label)
            cursor += 21 + Double(label.count) * 6.7 + 16
        }
    }

    /// Whether to draw the share of slow calls: the slow-call policy, or the slow-dependency scenario.
    var showsSlowShare: Bool {
        result.settings.policy.name == PolicyChoice.slowCalls.rawValue || result.settings.scenario == .slowDependency
    }

    /// Whether any slice has a failure rate of the breaker's window to draw.
    var hasWindowFailureRate: Bool { result.slices.contains { $0.windowFailureRate != nil } }
    /// Whether any slice has a slow-call rate of the breaker's window to draw.
    var hasWindowSlowRate: Bool { result.slices.contains { $0.windowSlowRate != nil } }

    mutating func drawGrid() {
        var tick = 0.0
        while tick <= result.duration + 1e-9 {
            let px = x(tick)
            body.append(#"<line x1="\#(n(px))" y1="\#(n(rateTop))" x2="\#(n(px))" y2="\#(n(bottom))" stroke="\#(grid)" stroke-width="1"/>"#)
            tick += tickStep
        }
    }

    mutating func drawDependency() {
        text(left - 12, dependencyTop + 13, "dependency", class: "axis", anchor: "end")
        for phase in result.dependency.phases {
            let (fill, ink): (String, String) = switch phase.condition {
            case .healthy: ("#e5e7eb", "#6b7280")
            case .down: ("#1f2937", "#ffffff")
            case .slow: ("#c4b5fd", "#4c1d95")
            case .degraded: ("#fdba74", "#7c2d12")
            }
            let x0 = x(phase.start), x1 = x(phase.end)
            body.append(#"<rect class="phase" x="\#(n(x0))" y="\#(n(dependencyTop))" width="\#(n(max(0.5, x1 - x0)))" height="\#(n(dependencyHeight))" fill="\#(fill)"/>"#)
            let label = phase.condition.label
            if x1 - x0 > Double(label.count) * 6.5 + 8 {
                body.append(#"<text class="inband" x="\#(n((x0 + x1) / 2))" y="\#(n(dependencyTop + 13))" text-anchor="middle" style="fill: \#(ink)">\#(escape(label))</text>"#)
            }
        }
    }

    mutating func drawBands() {
        text(left - 12, bandTop + 21, "breaker", class: "axis", anchor: "end")
        for span in displaySpans {
            let x0 = x(span.start), x1 = x(span.end)
            let color = TimelineChart.color(of: span.state)
            let band = TimelineChart.bandClass(of: span.state)
            let attributes = #"data-start="\#(Format.trimmed(span.start, decimals: 3))" data-end="\#(Format.trimmed(span.end, decimals: 3))""#
            body.append(#"<rect class="band \#(band)" \#(attributes) x="\#(n(x0))" y="\#(n(bandTop))" width="\#(n(max(minimumWidth(span.state), x1 - x0)))" height="\#(n(bandHeight))" fill="\#(color)"/>"#)
            // The same colour, faintly, behind the two panels, so a glance connects cause and effect.
            for (top, height) in [(rateTop, rateHeight), (callsTop, callsHeight)] where span.state != .closed {
                body.append(#"<rect class="tint \#(band)" x="\#(n(x0))" y="\#(n(top))" width="\#(n(max(0.8, x1 - x0)))" height="\#(n(height))" fill="\#(color)" fill-opacity="0.13"/>"#)
            }
            let label = span.state.description
            if x1 - x0 > Double(label.count) * 6.5 + 6 {
                body.append(#"<text class="inband" x="\#(n((x0 + x1) / 2))" y="\#(n(bandTop + 21))" text-anchor="middle" style="fill: white">\#(label)</text>"#)
            }
        }
    }

    /// The state spans as drawn: runs of two or more spans narrower than 3 pixels each (a long run's
    /// rapid reopenings) become one band in the state that filled most of their time, so they read as
    /// one stretch instead of a blur of slivers.
    var displaySpans: [StateSpan] {
        var drawn: [StateSpan] = []
        var group: [StateSpan] = []
        func flush() {
            if group.count == 1 {
                drawn.append(group[0])
            } else if let first = group.first, let last = group.last {
                var time: [CircuitState: Double] = [:]
                for span in group { time[span.state, default: 0] += span.end - span.start }
                let state = [CircuitState.open, .halfOpen, .closed].max { time[$0, default: 0] < time[$1, default: 0] } ?? .open
                drawn.append(StateSpan(start: first.start, end: last.end, state: state))
            }
            group = []
        }
        for span in result.stateSpans {
            if x(span.end) - x(span.start) < 3 {
                group.append(span)
            } else {
                flush()
                drawn.append(span)
            }
        }
        flush()
        return drawn
    }

    /// The narrowest a band is drawn: a half-open trial of a short run stays visible (2 px); in a long
    /// run, where trials are a fraction of a pixel, widening them would paint over the open periods.
    func minimumWidth(_ state: CircuitState) -> Double {
        state == .halfOpen && result.duration <= 600 ? 2 : 0.5
    }

    mutating func drawRatePanel() {
        text(left, rateTop - 10, rateCaption, class: "caption")
        frame(top: rateTop, height: rateHeight)
        for fraction in [0.0, 0.5, 1.0] {
            let y = rateTop + rateHeight * (1 - fraction)
            if fraction > 0 && fraction < 1 {
                body.append(#"<line x1="\#(n(left))" y1="\#(n(y))" x2="\#(n(left + plotWidth))" y2="\#(n(y))" stroke="\#(grid)" stroke-width="1"/>"#)
            }
            text(left - 8, y + 4, Format.percent(fraction), class: "axis", anchor: "end")
        }
        if let threshold = result.settings.policy.failureRateThreshold {
            thresholdLine(threshold, color: tripColor, label: ["opens at", Format.percent(threshold)])
        }
        if case .slowCalls(_, let rate, _) = result.settings.policy.rule {
            thresholdLine(rate, color: slowColor, label: ["slow calls", "open at", Format.percent(rate)])
        }
        if showsSlowShare { rateLine(\.slowRate, color: slowColor, width: 1.4) }
        rateLine(\.failureRate, color: ink, width: 1.4)
        rateLine(\.windowSlowRate, color: windowSlowColor, width: 2.6, atSliceEnd: true)
        rateLine(\.windowFailureRate, color: windowColor, width: 2.6, atSliceEnd: true)
    }

    /// What the rate panel shows.
    var rateCaption: String {
        var caption = (showsSlowShare ? "Failure rate and slow share" : "Failure rate") + " of the calls let through each \(sliceName)"
        if hasWindowFailureRate || hasWindowSlowRate {
            caption += ", and over the breaker's \(Format.duration(result.settings.policy.window)) window while closed"
        }
        return caption
    }

    /// A dashed line across the rate panel at `fraction`, labelled in the right margin, where no data goes.
    mutating func thresholdLine(_ fraction: Double, color: String, label: [String]) {
        let y = rateTop + rateHeight * (1 - fraction)
        body.append(#"<line x1="\#(n(left))" y1="\#(n(y))" x2="\#(n(left + plotWidth))" y2="\#(n(y))" stroke="\#(color)" stroke-width="1.2" stroke-dasharray="6 4"/>"#)
        for (index, line) in label.enumerated() {
            let lineY = y + 4 + (Double(index) - Double(label.count - 1) / 2) * 13
            body.append(#"<text class="axis" x="\#(n(left + plotWidth + 8))" y="\#(n(lineY))" style="fill: \#(color)">\#(escape(line))</text>"#)
        }
    }

    /// A line through the slices' values (at their middle, or at their end for values read then),
    /// broken where a slice has none.
    mutating func rateLine(_ value: KeyPath<TimeSlice, Double?>, color: String, width: Double, atSliceEnd: Bool = false) {
        var runs: [[(Double, Double)]] = [[]]
        for slice in result.slices {
            if let rate = slice[keyPath: value] {
                let time = atSliceEnd ? slice.end : (slice.start + slice.end) / 2
                runs[runs.count - 1].append((x(time), rateTop + rateHeight * (1 - rate)))
            } else if !runs[runs.count - 1].isEmpty {
                runs.append([])
            }
        }
        for run in runs where !run.isEmpty {
            if run.count == 1 {
                body.append(#"<circle cx="\#(n(run[0].0))" cy="\#(n(run[0].1))" r="2.2" fill="\#(color)"/>"#)
            } else {
                let points = run.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
                body.append(#"<polyline points="\#(points)" fill="none" stroke="\#(color)" stroke-width="\#(n(width))" stroke-linejoin="round" stroke-linecap="round"/>"#)
            }
        }
    }

    mutating func drawCallsPanel() {
        text(left, callsTop - 10, "Calls per \(sliceName): succeeded, failed, rejected by the breaker", class: "caption")
        frame(top: callsTop, height: callsHeight)
        let top = niceCeiling(Double(result.slices.map(\.calls).max() ?? 1))
        for fraction in [0.0, 0.5, 1.0] {
            let y = callsTop + callsHeight * (1 - fraction)
            text(left - 8, y + 4, Format.trimmed(top * fraction, decimals: 1), class: "axis", anchor: "end")
        }
        let slotWidth = plotWidth / Double(result.slices.count)
        let gap = slotWidth >= 4 ? 1.0 : 0
        for slice in result.slices {
            let x0 = x(slice.start) + gap / 2
            let barWidth = max(0.6, x(slice.end) - x(slice.start) - gap)
            var base = callsTop + callsHeight
            for (count, color, kind) in [(slice.letThrough - slice.failures, succeeded, "succeeded"), (slice.failures, failed, "failed"), (slice.rejected, rejected, "rejected")] where count > 0 {
                let h = callsHeight * Double(count) / top
                base -= h
                body.append(#"<rect class="bar bar-\#(kind)" x="\#(n(x0))" y="\#(n(base))" width="\#(n(barWidth))" height="\#(n(h))" fill="\#(color)"/>"#)
            }
        }
    }

    /// A triangle above the bands for each trip, and a dashed line through both panels for each trip
    /// from the closed state; marks closer than 6 pixels to the previous one are left out, so a long
    /// run with many trips stays readable.
    mutating func drawTrips() {
        var lastMark = -Double.infinity
        var lastLine = -Double.infinity
        for trip in result.trips {
            let px = x(trip.time)
            let tooltip = escape("trip at \(Format.moment(trip.time)): \(trip.cause)")
            if px - lastMark >= 6 {
                body.append(#"<path class="trip" data-t="\#(Format.trimmed(trip.time, decimals: 3))" d="M\#(n(px - 5)) \#(n(bandTop - 9)) h10 l-5 8 z" fill="\#(tripColor)"><title>\#(tooltip)</title></path>"#)
                lastMark = px
            }
            if trip.from == .closed && px - lastLine >= 6 {
                for (top, height) in [(rateTop, rateHeight), (callsTop, callsHeight)] {
                    body.append(#"<line class="trip-line" x1="\#(n(px))" y1="\#(n(top))" x2="\#(n(px))" y2="\#(n(top + height))" stroke="\#(tripColor)" stroke-width="1" stroke-dasharray="3 3" stroke-opacity="0.6"/>"#)
                }
                lastLine = px
            }
        }
    }

    mutating func drawTimeAxis() {
        var tick = 0.0
        while tick <= result.duration + 1e-9 {
            let px = x(tick)
            body.append(#"<line x1="\#(n(px))" y1="\#(n(bottom))" x2="\#(n(px))" y2="\#(n(bottom + 5))" stroke="\#(muted)" stroke-width="1"/>"#)
            body.append(#"<text class="tick" data-t="\#(Format.trimmed(tick, decimals: 3))" x="\#(n(px))" y="\#(n(bottom + 18))" text-anchor="middle">\#(tickLabel(tick))</text>"#)
            tick += tickStep
        }
        text(left + plotWidth / 2, bottom + 38, "simulated time (seed \(result.settings.seed))", class: "axis", anchor: "middle")
    }

    mutating func drawFooter() {
        let totals = result.totals
        let parts = [
            (Format.count(totals.calls), "calls"),
            (Format.count(totals.rejected), "rejected at once"),
            (Format.count(totals.failuresAvoided), "failures avoided"),
            (Format.waiting(totals.waitSaved), "of waiting saved"),
            (Format.count(result.trips.count), result.trips.count == 1 ? "trip" : "trips"),
        ]
        let spans = parts.map { #"<tspan font-weight="bold">\#(escape($0.0))</tspan> \#(escape($0.1))"# }.joined(separator: "   ·   ")
        body.append(#"<text class="footer" x="24" y="\#(n(height - 16))">\#(spans)</text>"#)
    }

    // MARK: Helpers

    /// `second`, or `5 s slice` for longer slices.
    var sliceName: String {
        let seconds = result.settings.sliceSeconds
        return seconds == 1 ? "second" : "\(Format.trimmed(seconds, decimals: 1)) s slice"
    }

    mutating func frame(top: Double, height: Double) {
        body.append(#"<line x1="\#(n(left))" y1="\#(n(top + height))" x2="\#(n(left + plotWidth))" y2="\#(n(top + height))" stroke="\#(axisLine)" stroke-width="1"/>"#)
        body.append(#"<line x1="\#(n(left))" y1="\#(n(top))" x2="\#(n(left))" y2="\#(n(top + height))" stroke="\#(axisLine)" stroke-width="1"/>"#)
    }

    mutating func text(_ x: Double, _ y: Double, _ content: String, class name: String? = nil, anchor: String? = nil) {
        var attributes = #"x="\#(n(x))" y="\#(n(y))""#
        if let name { attributes = #"class="\#(name)" "# + attributes }
        if let anchor { attributes += #" text-anchor="\#(anchor)""# }
        body.append("<text \(attributes)>\(escape(content))</text>")
    }

    /// The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) that is at least `value`.
    func niceCeiling(_ value: Double) -> Double {
        var scale = 1.0
        while scale * 10 < value { scale *= 10 }
        for factor in [1.0, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10] where factor * scale >= value { return factor * scale }
        return value
    }

    /// A coordinate to a tenth of a pixel.
    func n(_ value: Double) -> String { Format.trimmed(value, decimals: 1) }

    /// `text` safe inside an XML element or attribute.
    func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
