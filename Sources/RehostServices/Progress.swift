import Foundation
import RehostStorage

/// Receives progress while a long operation runs (called often, possibly from another
/// thread than the one that started it; throttle output yourself).
public protocol ProgressObserver: AnyObject, Sendable {
  /// How much there is to do, once known: from the seal for a restore or verify, from a
  /// quick measurement of the sources for a snapshot (`entries` nil: not counted).
  func expect(entries: Int?, bytes: Int64)
  /// How much is done: entries and content bytes (archive bytes for a key-free verify).
  func progress(entries: Int, bytes: Int64)
}

extension ProgressObserver {
  public func expect(entries: Int?, bytes: Int64) {}
}

/// Measures a snapshot's sources (entries and regular files' bytes) on a thread of its
/// own while the snapshot runs, so that progress can show a percentage and time left
/// soon after the start without delaying it. An estimate: files change, excludes and
/// databases are not counted.
enum SourceMeasure {
  static func start(_ roots: [String], into observer: ProgressObserver) {
    let thread = Thread {
      var entries = 0
      var bytes: Int64 = 0
      for root in roots { measure(root, entries: &entries, bytes: &bytes) }
      observer.expect(entries: entries, bytes: bytes)
    }
    thread.name = "rehost-measure"
    thread.qualityOfService = .background
    thread.start()
  }

  private static func measure(_ path: String, entries: inout Int, bytes: inout Int64) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    entries += 1
    switch st.st_mode & S_IFMT {
    case S_IFREG: bytes += Int64(st.st_size)
    case S_IFDIR:
      guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
      for name in names { measure(path + "/" + name, entries: &entries, bytes: &bytes) }
    default: break
    }
  }
}
