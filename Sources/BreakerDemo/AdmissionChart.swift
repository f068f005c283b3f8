import Foundation

/// The overload comparison and the recovery herd drawn as one SVG: goodput as a share of capacity by
/// offered load (a bar per protection, the p99 latency written above it), and what reached the
/// dependency in the first second after it recovered (a bar per protection, for 1 and for several
/// instances), each with its target. Plain SVG text, no dependencies.
public enum AdmissionChart {
    /// The colour of each protection's bars, in ``Protection/all`` order.
    static let palette = ["#9ca3af", "#d64545", "#f0a202", "#8b5cf6", "#2563eb", "#2e9d5b", "#0f766e", "#111827"]

    /// The SVG document.
    public static func svg(overload: [OverloadOutcome], herd: [RecoveryHerdOutcome], baseLatency: Duration = OverloadSettings().baseLatency) -> String {
        let protections = overload.map(\.protection).uniqued()
        let loads = overload.map(\.load).uniqued()
        let width = 1100.0, height = 440.0
        var body: [String] = []
        func text(_ x: Double, _ y: Double, _ string: String, size: Double = 12, anchor: String = "middle", color: String = "#1f2937") {
            body.append(#"<text x="\#(n(x))" y="\#(n(y))" font-size="\#(n(size))" text-anchor="\#(anchor)" fill="\#(color)">\#(escape(string))</text>"#)
        }
        func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ color: String) {
            body.append(#"<rect x="\#(n(x))" y="\#(n(y))" width="\#(n(w))" height="\#(n(max(0, h)))" fill="\#(color)"/>"#)
        }
        func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ color: String, dashed: Bool = false) {
            body.append(#"<line x1="\#(n(x1))" y1="\#(n(y1))" x2="\#(n(x2))" y2="\#(n(y2))" stroke="\#(color)" stroke-width="1.5"\#(dashed ? #" stroke-dasharray="6 4""# : "")/>"#)
        }

        // Left: goodput by load.
        let top = 70.0, plotHeight = 280.0, left = 60.0, plotWidth = 640.0
        text(left, 30, "Goodput under overload (share of capacity; p99 latency above each bar)", size: 15, anchor: "start")
        for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let y = top + plotHeight * (1 - tick)
            line(left, y, left + plotWidth, y, "#e5e7eb")
            text(left - 8, y + 4, "\(Int(tick * 100)) %", size: 11, anchor: "end", color: "#6b7280")
        }
        let groupWidth = plotWidth / Double(max(1, loads.count))
        let barWidth = (groupWidth - 24) / Double(max(1, protections.count))
        for (group, load) in loads.enumerated() {
            let x0 = left + Double(group) * groupWidth + 12
            text(x0 + (groupWidth - 24) / 2, top + plotHeight + 20, "\(format(load))× capacity", size: 12)
            for (index, protection) in protections.enumerated() {
                guard let outcome = overload.first(where: { $0.protection == protection && $0.load == load }) else { continue }
                let h = plotHeight * min(1, outcome.goodputShare)
                let x = x0 + Double(index) * barWidth
                rect(x, top + plotHeight - h, barWidth - 2, h, palette[index % palette.count])
                let p99 = outcome.p99.inSeconds
                text(x + barWidth / 2, top + plotHeight - h - 4, p99 >= 1 ? "\(format(p99)) s" : "\(Int((p99 * 1000).rounded()))", size: 8, color: "#374151")
            }
        }
        line(left, top + plotHeight * 0.1, left + plotWidth, top + plotHeight * 0.1, "#2e9d5b", dashed: true)
        text(left + plotWidth, top + plotHeight * 0.1 - 5, "target at 4×: 90 %, p99 ≤ \(Int(3 * baseLatency.inSeconds * 1000)) ms", size: 10, anchor: "end", color: "#2e9d5b")
        for (index, protection) in protections.enumerated() {
            let x = left + Double(index) * 110
            rect(x, height - 40, 12, 12, palette[index % palette.count])
            text(x + 16, height - 30, protection.name, size: 12, anchor: "start")
        }

        // Right: the first second after recovery.
        let herdLeft = 780.0, herdWidth = 290.0
        text(herdLeft, 30, "First second after recovery", size: 15, anchor: "start")
        text(herdLeft, 48, "calls reaching the dependency, share of normal load", size: 11, anchor: "start", color: "#6b7280")
        let counts = herd.map(\.instances).uniqued()
        let herdProtections = herd.map(\.protection).uniqued()
        let scale = max(1.5, (herd.map(\.loadShare).max() ?? 1) * 1.1)
        let herdGroup = herdWidth / Double(max(1, counts.count))
        let herdBar = (herdGroup - 20) / Double(max(1, herdProtections.count))
        line(herdLeft, top + plotHeight, herdLeft + herdWidth, top + plotHeight, "#9ca3af")
        let normalY = top + plotHeight * (1 - 1 / scale)
        line(herdLeft, normalY, herdLeft + herdWidth, normalY, "#6b7280", dashed: true)
        text(herdLeft + herdWidth, normalY - 4, "normal load", size: 10, anchor: "end", color: "#6b7280")
        for (group, count) in counts.enumerated() {
            let x0 = herdLeft + Double(group) * herdGroup + 10
            text(x0 + (herdGroup - 20) / 2, top + plotHeight + 20, count == 1 ? "1 instance" : "\(count) instances", size: 12)
            for (index, protection) in herdProtections.enumerated() {
                guard let outcome = herd.first(where: { $0.protection == protection && $0.instances == count }) else { continue }
                let h = plotHeight * outcome.loadShare / scale
                let x = x0 + Double(index) * herdBar
                let color = palette[(protections.firstIndex(of: protection) ?? index) % palette.count]
                rect(x, top + plotHeight - h, herdBar - 2, h, color)
                text(x + herdBar / 2, top + plotHeight - h - 4, "\(Int((outcome.loadShare * 100).rounded())) %", size: 9)
                if let target = outcome.rampTarget {
                    let y = top + plotHeight * (1 - target / scale)
                    line(x - 2, y, x + herdBar, y, "#2e9d5b", dashed: true)
                }
            }
        }

        return ([
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(n(width))" height="\#(n(height))" viewBox="0 0 \#(n(width)) \#(n(height))" font-family="'DejaVu Sans', Helvetica, Arial, sans-serif">"#,
            ##"<rect width="100%" height="100%" fill="#ffffff"/>"##,
        ] + body + ["</svg>"]).joined(separator: "\n") + "\n"
    }

    private static func n(_ value: Double) -> String { String(format: "%.1f", value) }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    private static func escape(_ string: String) -> String {
        string.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
