import Foundation
import RehostBase
import CPosix

/// A file written under a temporary name beside its destination, then synced and
/// renamed into place by ``commit()``. Until then no file with the final name
/// exists, so a killed run never leaves a half-written file that looks finished.
public final class AtomicFile: ByteSink {
  public let path: String
  public let temporaryPath: String
  private var fd: Int32
  private var buffer: UnsafeMutableRawBufferPointer
  private var filled = 0
  private var done = false
  private var cleanup = 0
  /// Bytes written so far.
  public private(set) var byteCount: Int64 = 0

  /// Creates the temporary file. It fails if the temporary name exists (O_EXCL).
  public init(path: String, mode: mode_t = 0o644) throws {
    self.path = path
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    let random = UInt64.random(in: 0...UInt64.max)
    temporaryPath = dir + "/." + url.lastPathComponent + ".tmp-" + String(random, radix: 36)
    fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    if fd < 0 { throw SystemError.io("create", temporaryPath) }
    buffer = .allocate(byteCount: 1 << 20, alignment: 16)
    let temporary = temporaryPath
    cleanup = InterruptCleanup.shared.register { unlink(temporary) }
  }

  deinit {
    if !done { abort() }
    buffer.deallocate()
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    precondition(!done)
    if filled + bytes.count > buffer.count { try flush() }
    if bytes.count >= buffer.count {
      try writeAll(bytes)
    } else {
      UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + bytes.count]).copyMemory(from: bytes)
      filled += bytes.count
    }
    byteCount += Int64(bytes.count)
  }

  /// Flushes; the file stays under its temporary name until ``commit()``.
  public func finish() throws { try flush() }

  /// Flushes, fsyncs, renames into place and fsyncs the directory.
  /// - Parameter replace: when false, an existing file at `path` is an error, not replaced.
  public func commit(replace: Bool = false) throws {
    try flush()
    if fsync(fd) != 0 { throw SystemError.io("sync", temporaryPath) }
    close(fd)
    fd = -1
    let result = replace ? rename(temporaryPath, path) : rehost_rename_noreplace(temporaryPath, path)
    if result != 0 {
      let error = errno == EEXIST
        ? RehostError(.refused, "\(path) already exists", hint: "choose another name, or move the existing file away first")
        : SystemError.io("rename into", path)
      abort()
      throw error
    }
    done = true
    InterruptCleanup.shared.unregister(cleanup)
    syncDirectory(of: path)
  }

  /// Removes the temporary file.
  public func abort() {
    if fd >= 0 { close(fd); fd = -1 }
    unlink(temporaryPath)
    done = true
    InterruptCleanup.shared.unregister(cleanup)
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
  let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
  let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
  if dfd >= 0 {
    fsync(dfd)
    close(dfd)
  }
}

/// A buffered reader over a file descriptor.
public final class FileSource: ByteSource {
  public let path: String
  private let fd: Int32
  private var buffer: UnsafeMutableRawBufferPointer
  private var start = 0, end = 0
  /// Bytes handed out so far.
  public private(set) var position: Int64 = 0

  public init(path: String) throws {
    self.path = path
    fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw SystemError.io("open", path) }
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

/// A regular file opened for reading without following a symlink.
public final class OpenFile: ByteSource {
  public let path: String
  public let status: stat
  private let fd: Int32

  public init(path: String) throws {
    self.path = path
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
    if fd < 0 { throw SystemError.io("open", path) }
    var st = stat()
    if fstat(fd, &st) != 0 {
      close(fd)
      throw SystemError.io("stat", path)
    }
    guard st.st_mode & S_IFMT == S_IFREG else {
      close(fd)
      throw RehostError(.failure, "\(path) stopped being a regular file while the snapshot ran",
                        hint: "stop what changes it and run the snapshot again")
    }
    status = st
  }

  deinit { close(fd) }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    while true {
      let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
      if n >= 0 { return n }
      if errno != EINTR { throw SystemError.io("read", path) }
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
