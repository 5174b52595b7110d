import Foundation
import RehostServices

/// Output helpers: results to stdout, diagnostics and progress to stderr.
enum Console {
  /// How results are printed, set once from the command's options before it runs.
  enum Mode: Equatable {
    case text
    /// Nothing on success: no result lines, no progress (warnings and errors still go to stderr).
    case quiet
    /// One JSON object on stdout (docs/JSON.md), for the command named; no text, no progress.
    case json(command: String)
  }

  nonisolated(unsafe) static var mode = Mode.text

  /// A result line, printed in text mode only.
  static func out(_ text: String) {
    if mode == .text { print(text) }
  }

  static func error(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
  }

  static var stderrIsTerminal: Bool { isatty(2) == 1 }

  static func bytes(_ n: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(n), unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
  }

  /// `1:05` or `2:03:10`.
  static func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
  }
}
