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
    let path = directory + "/rehost-spool-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    if fd < 0 { throw SystemError.io("create a scratch file in", directory) }
    unlink(path)
    buffer.reserveCapacity(1 << 16)
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
    var offset = 0
    while offset < buffer.count {
      let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 {
        if errno == EINTR { continue }
        throw SystemError.io("write a scratch file in", SpoolFile.defaultDirectory)
      }
      offset += n
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

/// Splits a byte source into lines (without the newline), refusing lines over `maxLength`.
public final class LineReader {
  private let source: ByteSource
  private let maxLength: Int
  private var buffer = [UInt8](repeating: 0, count: 1 << 16)
  private var start = 0, end = 0
  private var ended = false

  public init(source: ByteSource, maxLength: Int = 1 << 20) {
    self.source = source
    self.maxLength = maxLength
  }

  /// The next line, or nil at the end. A last line without a newline is returned too.
  public func next() throws -> String? {
    var line: [UInt8] = []
    while true {
      if start == end {
        if ended { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
        end = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        start = 0
        if end == 0 { ended = true; continue }
      }
      if let newline = buffer[start..<end].firstIndex(of: 0x0a) {
        line.append(contentsOf: buffer[start..<newline])
        start = newline + 1
        return String(decoding: line, as: UTF8.self)
      }
      line.append(contentsOf: buffer[start..<end])
      start = end
      if line.count > maxLength {
        throw RehostError(.corrupt, "a line longer than \(maxLength) bytes where a manifest line was expected")
      }
    }
  }
}
