import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// A signed log on disk (a runbook's journal, a backup repository's chain): lines
/// appended one at a time, each signed, written whole with one write and fsynced before
/// the caller does anything else.
public final class SignedLogFile {
  public let path: String
  private let fd: Int32
  /// The last line's SHA-256 (with its newline), and the next sequence number.
  public private(set) var head: String
  public private(set) var nextSeq: Int

  /// Opens the log at `path` for appending, created (0600) if absent.
  public init(path: String, head: String, nextSeq: Int) throws {
    self.path = path
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard fd >= 0 else { throw SystemError.io("open", path) }
    self.head = head
    self.nextSeq = nextSeq
  }

  deinit { close(fd) }

  /// Signs a line of `event` (its sequence, time and chain filled in here) and appends it.
  @discardableResult
  public func append(_ event: String, _ fields: [(String, SignedValue)], signer: AsymmetricKey) throws -> SignedLine {
    var line = SignedLine(seq: nextSeq, time: Timestamp.now(), event: event, fields: fields, prev: head)
    try line.sign(with: signer)
    let bytes = Array((line.line + "\n").utf8)
    var before = stat()
    guard fstat(fd, &before) == 0 else { throw SystemError.io("inspect", path) }
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0 else {
      let error = SystemError.io("append to", path)
      // A short write (a full disk) must not leave half a line for the next one to follow.
      _ = ftruncate(fd, before.st_size)
      throw error
    }
    head = Hex.encode(SHA256.hash(bytes))
    nextSeq += 1
    return line
  }
}
