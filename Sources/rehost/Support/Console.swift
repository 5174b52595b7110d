import Foundation
import RehostServices

/// Output helpers: results to stdout, diagnostics and progress to stderr.
enum Console {
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
}

/// A one-line progress display on a terminal (stderr); silent otherwise, so cron mail
/// and logs stay clean.
final class TerminalProgress: ProgressObserver {
  private let verb: String
  private let start = Date()
  private var lastDraw = Date.distantPast
  private var drew = false

  init?(verb: String) {
    guard Console.stderrIsTerminal else { return nil }
    self.verb = verb
  }

  func progress(entries: Int, bytes: Int64) {
    let now = Date()
    guard now.timeIntervalSince(lastDraw) >= 0.2 else { return }
    lastDraw = now
    let elapsed = max(now.timeIntervalSince(start), 0.001)
    let rate = Int64(Double(bytes) / elapsed)
    let line = "\(verb): \(entries) entries, \(Console.bytes(bytes)), \(Console.bytes(rate))/s"
    FileHandle.standardError.write(Data(("\r\u{1b}[K" + line).utf8))
    drew = true
  }

  /// Clears the progress line.
  func done() {
    if drew { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
  }
}
