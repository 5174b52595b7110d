import Glibc

/// The files `rehost check` reads: a directory walk that never follows a symlink, and a
/// bounded read of one regular file. On plain system calls: FileManager's enumerator and
/// its `contents(atPath:)` cost more per file than the checks of the key in it.
enum CheckFiles {
  /// What a walk of one directory found.
  struct Walk {
    /// Regular files, in the order the directories list them.
    var files: [String] = []
    /// Directories holding an `index.txt` (candidates for `openssl ca` directories).
    var withIndex: [String] = []
    /// Entries that could not be looked at: the directory could not be read, or a name is
    /// not UTF-8 (the paths in findings are text).
    var unreadable: [(path: String, reason: String)] = []
  }

  /// Every regular file under `root`, descending into subdirectories but not through symlinks.
  static func walk(_ root: String) -> Walk {
    var walk = Walk()
    var pending = [root]
    while let dir = pending.popLast() {
      guard let handle = opendir(dir) else {
        walk.unreadable.append((dir, String(cString: strerror(errno))))
        continue
      }
      defer { closedir(handle) }
      while let entry = readdir(handle) {
        let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
        if bytes == [0x2e] || bytes == [0x2e, 0x2e] { continue }
        guard let name = String(validating: bytes, as: UTF8.self) else {
          walk.unreadable.append((dir + "/" + String(decoding: bytes, as: UTF8.self), "its name is not UTF-8"))
          continue
        }
        let path = dir + "/" + name
        var type = Int(entry.pointee.d_type)
        if type == DT_UNKNOWN {  // some file systems do not say: ask
          var st = stat()
          guard lstat(path, &st) == 0 else { continue }
          type = st.st_mode & S_IFMT == S_IFDIR ? DT_DIR : st.st_mode & S_IFMT == S_IFREG ? DT_REG : DT_UNKNOWN
        }
        if type == DT_DIR {
          pending.append(path)
        } else if type == DT_REG {
          walk.files.append(path)
          if name == "index.txt" { walk.withIndex.append(dir) }
        }
      }
    }
    return walk
  }

  /// The content of `path` if it is a regular file (not a symlink) of at most `limit`
  /// bytes; nil otherwise, or if it cannot be read.
  static func read(_ path: String, limit: Int) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size <= limit else { return nil }
    // One byte more than the size, to see a file that grew while being read.
    var bytes = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
    var count = 0
    while count < bytes.count {
      let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { return nil }
      if n == 0 { break }
      count += n
      guard count <= limit else { return nil }
    }
    bytes.removeLast(bytes.count - count)
    return bytes
  }
}
