import Foundation

/// Workers claim files in batches from a shared cursor; each writes only to its own scan.
final class ParallelScan: @unchecked Sendable {
  let paths: [String]
  let scans: [Scan]
  var errors: [Error?]
  private var cursor = 0
  private let lock = NSLock()
  private static let batch = 64

  init(paths: [String], scans: [Scan]) {
    self.paths = paths
    self.scans = scans
    errors = Array(repeating: nil, count: scans.count)
  }

  func run(_ worker: Int) {
    while true {
      lock.lock()
      let start = cursor
      cursor += Self.batch
      lock.unlock()
      guard start < paths.count else { return }
      do {
        for path in paths[start..<min(start + Self.batch, paths.count)] { try scans[worker].file(path) }
      } catch {
        errors[worker] = error
        return
      }
    }
  }
}
