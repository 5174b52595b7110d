import Foundation
import RehostBase
import CPosix

/// A file written under a temporary name beside its destination, then synced and
/// renamed into place by ``commit(replace:)``. Until then no file with the final name
/// exists, so a killed run never leaves a half-written file that looks finished.
///
/// The temporary name carries the run's pid and the file is locked while the run
/// lives (``RunLeftovers``): creating an `AtomicFile` first removes what dead runs left
/// beside the same destination.
public final class AtomicFile: ByteSink {
  public static let marker = ".tmp-"

  public let path: String
  public let temporaryPath: String
  private var fd: Int32
  private var buffer: UnsafeMutableRawBufferPointer
  private var filled = 0
  private var done = false
  private var synced = false
  private var cleanup = 0
  /// Bytes written so far.
  public private(set) var byteCount: Int64 = 0
  /// Leftovers of dead runs that were removed when this file was created.
  public let removedLeftovers: [String]

  /// Creates the temporary file. It fails if the temporary name exists (O_EXCL).
  public init(path: String, mode: mode_t = 0o644) throws {
    self.path = path
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    removedLeftovers = RunLeftovers.remove(in: dir, beside: url.lastPathComponent, marker: Self.marker)
    temporaryPath = dir + "/" + RunLeftovers.name(beside: url.lastPathComponent, marker: Self.marker)
    // Registered before it exists: a signal between creating the file and registering it
    // found no work to undo, ended the process at once, and left the file behind.
    cleanup = Interruption.shared.register(removing: temporaryPath)
    fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
    if fd < 0 {
      let error = SystemError.io("create", temporaryPath)
      Interruption.shared.unregister(cleanup)
      throw error
    }
    RunLeftovers.lock(fd)
    buffer = .allocate(byteCount: 1 << 20, alignment: 16)
  }

  deinit {
    if !done { abort() }
    buffer.deallocate()
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    precondition(!done && !synced)
    if filled + bytes.count > buffer.count { try flush() }
    if bytes.count >= buffer.count {
      try writeAll(bytes)
    } else {
      UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + bytes.count]).copyMemory(from: bytes)
      filled += bytes.count
    }
    byteCount += Int64(bytes.count)
  }

  /// Flushes; the file stays under its temporary name until ``commit(replace:)``.
  public func finish() throws { try flush() }

  /// Flushes and fsyncs the temporary file: everything that can fail for lack of space
  /// has happened once this returns.
  public func sync() throws {
    guard !synced else { return }
    try flush()
    if fsync(fd) != 0 { throw SystemError.io("sync", temporaryPath) }
    synced = true
  }

  /// Syncs, renames into place and fsyncs the directory.
  /// - Parameter replace: when false, an existing file at `path` is an error, not replaced.
  public func commit(replace: Bool = false) throws {
    try sync()
    let result = replace ? rename(temporaryPath, path) : rehost_rename_noreplace(temporaryPath, path)
    if result != 0 {
      let error = errno == EEXIST
        ? RehostError(.refused, "\(path) already exists", hint: "choose another name, or move the existing file away first")
        : SystemError.io("rename into", path)
      abort()
      throw error
    }
    close(fd)
    fd = -1
    done = true
    Interruption.shared.unregister(cleanup)
    DirectoryTools.sync(directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
  }

  /// Removes the temporary file.
  public func abort() {
    if !done { unlink(temporaryPath) }
    if fd >= 0 { close(fd); fd = -1 }
    done = true
    Interruption.shared.unregister(cleanup)
  }

  private func flush() throws {
    if filled > 0 {
      try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]))
      filled = 0
    }
  }

  private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
    guard writeFully(fd, bytes) else { throw SystemError.io("write", temporaryPath) }
  }
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR. False (with errno
/// set) on any other failure.
func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
  var offset = 0
  while offset < bytes.count {
    let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
    if n < 0 {
      if errno == EINTR { continue }
      return false
    }
    offset += n
  }
  return true
}

/// Writes a small text file atomically (temporary name, fsync, rename).
public func writeFileAtomically(_ text: String, to path: String, mode: mode_t = 0o644, replace: Bool = false) throws {
  let file = try AtomicFile(path: path, mode: mode)
  do {
    try file.write(Array(text.utf8))
    try file.commit(replace: replace)
  } catch {
    file.abort()
    throw error
  }
}

/// fsyncs the directory holding `path`, so a rename in it survives a crash.
public func syncDirectory(of path: String) {
  DirectoryTools.sync(directory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
}

/// A buffered reader over a file descriptor.
public final class FileSource: ByteSource {
  public let path: String
  private let fd: Int32
  private var buffer: UnsafeMutableRawBufferPointer
  private var start = 0, end = 0
  /// Bytes handed out so far.
  public private(set) var position: Int64 = 0

  /// Opens a regular file (anything else, a FIFO or a device, would block or never end).
  /// - Parameter what: what the file is meant to be, for messages ("archive").
  public init(path: String, what: String = "file") throws {
    self.path = path
    fd = try InputFile.openRegular(path, what: what)
    buffer = .allocate(byteCount: 1 << 20, alignment: 16)
  }

  deinit {
    close(fd)
    buffer.deallocate()
  }

  /// The file's size now (fstat).
  public func size() throws -> Int64 {
    var st = stat()
    if fstat(fd, &st) != 0 { throw SystemError.io("stat", path) }
    return Int64(st.st_size)
  }

  public func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
    if start == end {
      // Large reads bypass the buffer.
      if out.count >= buffer.count { return try rawRead(out) }
      start = 0
      end = try rawRead(buffer)
      if end == 0 { return 0 }
    }
    let n = min(out.count, end - start)
    out.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[start..<start + n]))
    start += n
    position += Int64(n)
    return n
  }

  private func rawRead(_ into: UnsafeMutableRawBufferPointer) throws -> Int {
    while true {
      let n = Glibc.read(fd, into.baseAddress, into.count)
      if n >= 0 {
        if into.baseAddress != buffer.baseAddress { position += Int64(n) }
        return n
      }
      if errno != EINTR { throw SystemError.io("read", path) }
    }
  }
}

/// Small input files named on the command line (keys, seals, policies, inventories,
/// share files, passphrases): read whole, but only from regular files (a FIFO would
/// block, `/dev/zero` would never end) and never past a limit a genuine file stays under.
public enum InputFile {
  /// Opens `path` for reading if it is a regular file.
  /// - Parameter allowPipe: also accept a pipe (a passphrase from `<(command)`).
  public static func openRegular(_ path: String, what: String, allowPipe: Bool = false, kind: RehostError.Kind = .usage) throws -> Int32 {
    // O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
    if fd < 0 {
      let error = SystemError.io("open the \(what)", path)
      throw errno == ENOENT ? RehostError(kind, error.message, hint: error.hint) : error
    }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      close(fd)
      throw SystemError.io("inspect the \(what)", path)
    }
    let type = st.st_mode & S_IFMT
    guard type == S_IFREG || (allowPipe && type == S_IFIFO) else {
      close(fd)
      throw RehostError(kind, "the \(what) \(path) is not a regular file (it is \(describe(type)))",
                        hint: "give the path of a regular file")
    }
    if type == S_IFIFO {
      // A pipe is read blocking, like any stream.
      let flags = fcntl(fd, F_GETFL)
      _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
    }
    return fd
  }

  /// Reads all of `path`, refusing more than `limit` bytes.
  public static func read(_ path: String, what: String, limit: Int, allowPipe: Bool = false, kind: RehostError.Kind = .usage) throws -> [UInt8] {
    let fd = try openRegular(path, what: what, allowPipe: allowPipe, kind: kind)
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw SystemError.io("read the \(what)", path)
      }
      if n == 0 { return bytes }
      bytes += chunk[0..<n]
      if bytes.count > limit {
        throw RehostError(kind, "the \(what) \(path) is larger than \(limit) bytes: it is not a \(what)",
                          hint: "check the path; a genuine \(what) is far smaller")
      }
    }
  }

  static func describe(_ type: mode_t) -> String {
    switch type {
    case S_IFDIR: "a directory"
    case S_IFIFO: "a FIFO"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFSOCK: "a socket"
    case S_IFLNK: "a symlink"
    default: "not a file"
    }
  }
}

/// Errors from system calls, worded for the user.
public enum SystemError {
  /// An error for the current `errno`.
  public static func io(_ operation: String, _ path: String) -> RehostError {
    let code = errno
    let reason = String(cString: strerror(code))
    switch code {
    case ENOSPC, EDQUOT:
      return RehostError(.failure, "cannot \(operation) \(path): \(reason)",
                         hint: "free space on that filesystem or write somewhere else; nothing partial was kept")
    case EACCES, EPERM:
      return RehostError(.failure, "cannot \(operation) \(path): \(reason)",
                         hint: "check the permissions, or run as a user that may read it")
    case ENOENT:
      return RehostError(.usage, "cannot \(operation) \(path): \(reason)", hint: "check the path")
    default:
      return RehostError(.failure, "cannot \(operation) \(path): \(reason)")
    }
  }
}
