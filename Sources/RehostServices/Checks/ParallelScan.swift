import Foundation

/// Workers claim files in batches from a shared cursor; each writes only to its own scan.
final class ParallelScan: @unchecked Sendable {
  let paths: [String]
  let scans: [Scan]
  var errors: [Error?]
  private var cursor = 0
  private var done = 0
  let progress: ProgressObserver?
  private let lock = NSLock()
  private static let batch = 64

  init(paths: [String], scans: [Scan], progress: ProgressObserver?) {
    self.paths = paths
    self.progress = progress
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
        let end = min(start + Self.batch, paths.count)
        for path in paths[start..<end] { try scans[worker].file(path) }
        lock.lock()
        done += end - start
        let finished = done
        lock.unlock()
        progress?.progress(entries: finished, bytes: 0)
      } catch {
        errors[worker] = error
        return
      }
    }
  }
}
