import Foundation
import Glibc
import RehostBase

/// What a run writes before it is complete (a temporary file, a staging directory) is
/// named after the run's pid, `.<name><marker><pid>-<random>`, and locked (flock) by the
/// run for as long as it lives. A later run removes what dead runs left, and only that:
/// an entry whose lock is free and whose pid no longer exists. (The lock alone would not
/// do: a run holds it a moment after creating the entry; the pid alone would not either:
/// pids are reused.)
public enum RunLeftovers {
  /// A new name for something a run works on beside `name`.
  public static func name(beside name: String, marker: String) -> String {
    "." + name + marker + String(getpid()) + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
  }

  /// Takes the run's lock on an open file or directory.
  public static func lock(_ fd: Int32) { flock(fd, LOCK_EX) }

  /// Removes the leftovers of dead runs beside `name` in `directory`; returns what was removed.
  @discardableResult
  public static func remove(in directory: String, beside name: String, marker: String) -> [String] {
    let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dirfd >= 0 else { return [] }
    defer { close(dirfd) }
    return remove(in: dirfd, beside: name, marker: marker).map { directory + "/" + $0 }
  }

  /// The same, in an open directory.
  @discardableResult
  public static func remove(in dirfd: Int32, beside name: String, marker: String) -> [String] {
    let prefix = Array(("." + name + marker).utf8)
    guard let names = try? DirectoryTools.names(in: dirfd) else { return [] }
    var removed: [String] = []
    for entry in names where entry.starts(with: prefix) && isDead(entry, prefix: prefix, in: dirfd) {
      if DirectoryTools.removeTree(dirfd, entry) { removed.append(TextEscape.escape(entry)) }
    }
    return removed
  }

  /// Removes the leftovers of dead runs in `directory` beside any name; returns what was removed.
  @discardableResult
  public static func removeAll(in directory: String, marker: String) -> [String] {
    let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dirfd >= 0 else { return [] }
    defer { close(dirfd) }
    guard let names = try? DirectoryTools.names(in: dirfd) else { return [] }
    let mark = Array(marker.utf8)
    var removed: [String] = []
    for entry in names where entry.first == UInt8(ascii: ".") {
      guard let at = (0...max(0, entry.count - mark.count)).first(where: { entry[$0...].starts(with: mark) }), at > 1 else { continue }
      let prefix = Array(entry[..<(at + mark.count)])
      if isDead(entry, prefix: prefix, in: dirfd), DirectoryTools.removeTree(dirfd, entry) {
        removed.append(directory + "/" + TextEscape.escape(entry))
      }
    }
    return removed
  }

  /// Whether the run that made `entry` is gone: its lock is free and its pid unused.
  public static func isDead(_ entry: [UInt8], prefix: [UInt8], in dirfd: Int32) -> Bool {
    let fd = entry.withCString { openat(dirfd, $0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
    guard fd >= 0 else { return false }
    defer { close(fd) }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
    let rest = entry.dropFirst(prefix.count)
    if let dash = rest.firstIndex(of: UInt8(ascii: "-")), let pid = pid_t(String(decoding: rest[..<dash], as: UTF8.self)), pid > 0 {
      return kill(pid, 0) != 0 && errno == ESRCH
    }
    // Named by an older version (no pid): dead once untouched for ten minutes.
    var st = stat()
    return fstat(fd, &st) == 0 && time(nil) - st.st_mtim.tv_sec > 600
  }
}

/// A lock only one run at a time can hold, kept in a small file (`flock`), which names
/// its holder (pid, start time, what it does) for the message another run prints.
/// A killed run cannot keep it: the kernel drops a dead process's locks. The file is
/// removed when the lock is released, with the usual care (a run that opened the old
/// file checks, once it holds the lock, that it is still the one at the path).
public final class LockFile {
  public let path: String
  private var fd: Int32 = -1

  /// Takes the lock at `path` or throws ``RehostError/Kind/busy`` naming its holder.
  /// - Parameter purpose: what the holder does, e.g. "restoring into /srv/ca".
  public init(path: String, purpose: String, wait: Double = 0) throws {
    self.path = path
    let deadline = Date().addingTimeInterval(wait)
    while true {
      let candidate = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
      guard candidate >= 0 else { throw SystemError.io("create the lock file", path) }
      if flock(candidate, LOCK_EX | LOCK_NB) != 0 {
        // The holder writes who it is right after it takes the lock: give it a moment.
        var holder = Self.holder(candidate)
        for _ in 0..<20 where holder == nil {
          usleep(10_000)
          holder = Self.holder(candidate)
        }
        close(candidate)
        if Date() < deadline {
          usleep(50_000)
          continue
        }
        throw RehostError(.busy, "another rehost run is \(holder.map { "busy: \($0)" } ?? "holding \(path)")",
                          hint: "wait for it to finish (or stop it); a run that died does not hold the lock")
      }
      var mine = stat(), there = stat()
      if fstat(candidate, &mine) == 0, stat(path, &there) == 0, mine.st_ino == there.st_ino, mine.st_dev == there.st_dev {
        fd = candidate
        break
      }
      close(candidate)  // released and removed meanwhile: take the new one
    }
    let note = "pid \(getpid()), started \(Timestamp.now()), \(purpose)\n"
    ftruncate(fd, 0)
    _ = Array(note.utf8).withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    // A signal that ends the run at once (no half-done work to undo yet) must not leave
    // the file behind: the lock itself dies with the process, its file would not.
    let shown = path
    onEnd = Interruption.shared.onEnd { unlink(shown) }
  }

  private var onEnd = 0

  deinit { release() }

  public func release() {
    guard fd >= 0 else { return }
    Interruption.shared.unregister(onEnd)
    unlink(path)
    close(fd)
    fd = -1
  }

  private static func holder(_ fd: Int32) -> String? {
    var bytes = [UInt8](repeating: 0, count: 512)
    let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 512, 0) }
    guard n > 0 else { return nil }
    return String(decoding: bytes[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
