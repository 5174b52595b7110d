import Foundation
import RehostServices

/// A one-line progress display on a terminal (stderr): done so far, of how much when the
/// total is known (the seal records it; a snapshot measures its sources first), rate and
/// time left. Silent when stderr is not a terminal, or with --quiet or --json, so cron
/// mail, logs and scripts see nothing extra.
final class TerminalProgress: ProgressObserver, @unchecked Sendable {
  private let verb: String
  /// What `entries` counts: "entries" (of an archive) or "files" (check).
  private let unit: String
  private let start = Date()
  private let lock = NSLock()
  private var lastDraw = Date.distantPast
  private var drew = false
  private var total: (entries: Int?, bytes: Int64)?

  init?(verb: String, unit: String = "entries") {
    guard Console.stderrIsTerminal, Console.mode == .text else { return nil }
    self.verb = verb
    self.unit = unit
  }

  func expect(entries: Int?, bytes: Int64) {
    lock.withLock { total = (entries, bytes) }
  }

  func progress(entries: Int, bytes: Int64) {
    let now = Date()
    let known: (entries: Int?, bytes: Int64)?
    do {
      lock.lock()
      defer { lock.unlock() }
      guard now.timeIntervalSince(lastDraw) >= 0.2 else { return }
      lastDraw = now
      drew = true
      known = total
    }
    FileHandle.standardError.write(Data(("\r\u{1b}[K" + Self.line(verb: verb, unit: unit, entries: entries, bytes: bytes, total: known,
                                                                   elapsed: now.timeIntervalSince(start))).utf8))
  }

  /// `restore: 42% 1.2 GiB of 2.9 GiB, 1200 of 2481 entries, 85.0 MiB/s, ETA 0:20`;
  /// `check: 40% 1200 of 3000 files, ETA 0:03` when only a count is known.
  static func line(verb: String, unit: String = "entries", entries: Int, bytes: Int64,
                   total: (entries: Int?, bytes: Int64)?, elapsed: Double) -> String {
    let elapsed = max(elapsed, 0.001)
    let rate = Double(bytes) / elapsed
    func eta(_ fraction: Double) -> String {
      fraction > 0 ? Console.duration(elapsed * (1 - fraction) / fraction) : "--:--"
    }
    if let total, total.bytes > 0 {
      // A snapshot's sources can grow while it runs (and databases are not measured ahead).
      let done = min(bytes, total.bytes)
      let fraction = Double(done) / Double(total.bytes)
      let counted = total.entries.map { "\(entries) of \(max($0, entries)) \(unit)" }
      return "\(verb): \(min(99, Int(fraction * 100)))% \(Console.bytes(done)) of \(Console.bytes(total.bytes)), "
        + (counted.map { $0 + ", " } ?? "") + "\(Console.bytes(Int64(rate)))/s, ETA \(eta(fraction))"
    }
    if let total, let count = total.entries, count > 0 {
      let fraction = Double(min(entries, count)) / Double(count)
      return "\(verb): \(min(99, Int(fraction * 100)))% \(entries) of \(count) \(unit), ETA \(eta(fraction))"
    }
    return "\(verb): \(entries) \(unit), \(Console.bytes(bytes)), \(Console.bytes(Int64(rate)))/s"
  }

  /// Clears the progress line.
  func done() {
    if lock.withLock({ drew }) { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
  }
}
