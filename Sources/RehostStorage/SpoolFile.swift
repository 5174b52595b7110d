import CPosix
import Glibc
import RehostBase

/// A scratch file with no name: written once, then read back from the start.
/// It keeps long lists (the manifest) out of memory; the kernel frees it when closed,
/// whatever happens to the process.
public final class SpoolFile: ByteSink {
  private let fd: Int32
  private var buffer: [UInt8] = []
  private var reading = false
  public private(set) var byteCount: Int64 = 0

  public init(directory: String = SpoolFile.defaultDirectory) throws {
    fd = Self.namelessFile(in: directory, prefix: "rehost-spool-")
    if fd < 0 { throw SystemError.io("create a scratch file in", directory) }
    buffer.reserveCapacity(1 << 16)
  }

  /// A read-write file in `directory` that no name leads to, or -1 (errno set). Made
  /// nameless by the kernel (O_TMPFILE) where the filesystem can, so that no moment exists
  /// in which a process that ends leaves it behind; elsewhere created and unlinked at once.
  static func namelessFile(in directory: String, prefix: String) -> Int32 {
    let fd = rehost_open_tmpfile(directory)
    if fd >= 0 { return fd }
    let path = directory + "/" + prefix + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    let named = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    if named >= 0 { unlink(path) }
    return named
  }

  deinit { close(fd) }

  public static var defaultDirectory: String {
    if let dir = getenv("TMPDIR").map({ String(cString: $0) }), !dir.isEmpty { return dir }
    return "/tmp"
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    precondition(!reading)
    buffer.append(contentsOf: bytes.bindMemory(to: UInt8.self))
    byteCount += Int64(bytes.count)
    if buffer.count >= 1 << 16 { try flush() }
  }

  public func finish() throws { try flush() }

  /// Flushes and returns a reader over everything written, from the start.
  public func reader() throws -> ByteSource {
    try flush()
    reading = true
    return SpoolReader(fd: fd)
  }

  private func flush() throws {
    guard buffer.withUnsafeBytes({ writeFully(fd, $0) }) else {
      throw SystemError.io("write a scratch file in", SpoolFile.defaultDirectory)
    }
    buffer.removeAll(keepingCapacity: true)
  }
}

private final class SpoolReader: ByteSource {
  let fd: Int32
  var offset: off_t = 0

  init(fd: Int32) { self.fd = fd }

  func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = pread(fd, out.baseAddress, out.count, offset)
    if n < 0 { throw SystemError.io("read a scratch file in", SpoolFile.defaultDirectory) }
    offset += off_t(n)
    return n
  }
}
