import BreakerDemo
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the demo writes: a terminal, which gets colour and a status line redrawn in place at a
/// watchable pace, or a file or pipe, which gets plain lines at once.
struct Terminal {
    /// Whether standard output is a terminal.
    let isInteractive = isatty(1) == 1
    /// Colour only on a terminal, and never when `NO_COLOR` is set (https://no-color.org).
    var style: TextStyle {
        isInteractive && ProcessInfo.processInfo.environment["NO_COLOR", default: ""].isEmpty ? .ansi : .plain
    }

    /// The longest a live run plays, in seconds of real time.
    static let playTime = 4.5
    /// The longest one frame is shown, in seconds of real time.
    static let longestFrame = 0.04

    /// Plays `result`: on a terminal, one frame per slice redrawn in place, about `playTime` seconds
    /// in all; otherwise a plain line every tenth of the run, without pausing.
    func play(_ result: SimulationResult) {
        guard isInteractive else {
            for index in LiveProgress.plainLineSlices(result) {
                print(LiveProgress.plainLine(result, through: index))
            }
            print()
            return
        }
        let pause = min(Self.longestFrame, Self.playTime / Double(result.slices.count))
        for index in result.slices.indices {
            // Carriage return and erase line: the status line is redrawn in place.
            write("\r\u{1B}[2K" + LiveProgress.statusLine(result, through: index, style: style))
            Thread.sleep(forTimeInterval: pause)
        }
        write("\n\n")
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
