import CPosix
import Glibc
import RehostBase

/// System calls relative to directory descriptors, never following a symlink: what the
/// tree walker, the tree writer and the cleanup of dead runs are built from.
public enum DirectoryTools {
  /// Opens directory `name` in `parent` (AT_FDCWD: relative to the working directory)
  /// without following a symlink at its last component.
  public static func openDirectory(_ parent: Int32, _ name: UnsafePointer<CChar>) -> Int32 {
    openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
  }

  /// The names in an open directory (without `.` and `..`), as bytes, sorted. The
  /// descriptor stays open and owned by the caller.
  public static func names(in fd: Int32) throws -> [[UInt8]] {
    let copy = dup(fd)
    guard copy >= 0, let dir = fdopendir(copy) else {
      if copy >= 0 { close(copy) }
      throw SystemError.io("read the directory", "(open directory)")
    }
    defer { closedir(dir) }
    rewinddir(dir)
    var names: [[UInt8]] = []
    while true {
      errno = 0
      guard let entry = readdir(dir) else {
        if errno != 0 { throw SystemError.io("read the directory", "(open directory)") }
        break
      }
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        Array(raw.bindMemory(to: UInt8.self).prefix { $0 != 0 })
      }
      if name == [0x2e] || name == [0x2e, 0x2e] { continue }
      names.append(name)
    }
    return names.sorted { $0.lexicographicallyPrecedes($1) }
  }

  /// Removes `name` from directory `parent` and, if it is a directory, everything in it,
  /// first making directories writable (a restored tree may hold read-only ones).
  /// Symlinks are removed, never followed. False (errno set) if something stayed.
  @discardableResult
  public static func removeTree(_ parent: Int32, _ name: [UInt8]) -> Bool {
    name.withCString { cname in
      var st = stat()
      guard fstatat(parent, cname, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return errno == ENOENT }
      guard st.st_mode & S_IFMT == S_IFDIR else { return unlinkat(parent, cname, 0) == 0 || errno == ENOENT }
      let fd = openDirectory(parent, cname)
      guard fd >= 0 else { return false }
      fchmod(fd, 0o700)
      var ok = true
      if let children = try? names(in: fd) {
        for child in children where !removeTree(fd, child) { ok = false }
      } else {
        ok = false
      }
      close(fd)
      return unlinkat(parent, cname, AT_REMOVEDIR) == 0 && ok
    }
  }

  /// Whether `name` in `parent` is the root of a mount (a disk mounted there, a bind
  /// mount): such a directory cannot be renamed, only filled. Where the kernel cannot
  /// tell (statx without STATX_ATTR_MOUNT_ROOT), a different device than the parent's says so.
  public static func isMountRoot(_ parent: Int32, _ name: String) -> Bool {
    switch rehost_is_mount_root(parent, name) {
    case 1: return true
    case 0: return false
    default:
      var mine = stat(), parents = stat()
      guard fstatat(parent, name, &mine, AT_SYMLINK_NOFOLLOW) == 0, fstat(parent, &parents) == 0 else { return false }
      return mine.st_dev != parents.st_dev
    }
  }

  public enum Rename { case noReplace, replaceEmpty, exchange }

  /// Renames `old` to `new`, both in directory `dirfd`: failing if `new` exists, over an
  /// empty directory, or swapping the two atomically (renameat2). False with errno set.
  public static func rename(_ old: String, to new: String, in dirfd: Int32, _ mode: Rename) -> Bool {
    switch mode {
    case .noReplace: rehost_renameat2(dirfd, old, dirfd, new, rehost_rename_noreplace_flag()) == 0
    case .replaceEmpty: renameat(dirfd, old, dirfd, new) == 0
    case .exchange: rehost_renameat2(dirfd, old, dirfd, new, rehost_rename_exchange_flag()) == 0
    }
  }

  /// Moves `name` from directory `from` into directory `into` (same filesystem), under the
  /// same name: swapping it atomically with the entry there, or failing if one exists.
  public static func move(_ name: [UInt8], from: Int32, into: Int32, exchanging: Bool) -> Bool {
    let cname = name.map { CChar(bitPattern: $0) } + [0]
    return rehost_renameat2(from, cname, into, cname, exchanging ? rehost_rename_exchange_flag() : rehost_rename_noreplace_flag()) == 0
  }

  /// fsyncs directory `path` (so a rename or creation in it survives a crash).
  public static func sync(directory path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
      fsync(fd)
      close(fd)
    }
  }
}

extension Array where Element == UInt8 {
  /// Calls `body` with the bytes as a NUL-terminated C string (names never hold NUL).
  public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
    try (self + [0]).withUnsafeBufferPointer { buffer in
      try buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { try body($0) }
    }
  }
}
