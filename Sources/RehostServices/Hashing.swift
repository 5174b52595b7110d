import RehostBase
import RehostCrypto

/// Passes bytes through to `next` while hashing them and counting them.
final class HashingSink: ByteSink {
  private let next: ByteSink
  private let hasher = SHA256()
  private(set) var byteCount: Int64 = 0

  init(next: ByteSink) { self.next = next }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    hasher.update(bytes)
    byteCount += Int64(bytes.count)
    try next.write(bytes)
  }

  func finish() throws { try next.finish() }

  func digest() -> String { Hex.encode(hasher.finalize()) }
}

/// Hashes and counts every byte read through it.
final class HashingSource: ByteSource {
  private let source: ByteSource
  private let hasher = SHA256()
  private(set) var byteCount: Int64 = 0
  /// Told the bytes read so far (a key-free verify's progress).
  var observer: ProgressObserver?

  init(source: ByteSource) { self.source = source }

  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = try source.read(into: buffer)
    hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    byteCount += Int64(n)
    observer?.progress(entries: 0, bytes: byteCount)
    return n
  }

  /// Reads the rest of the stream (hashing it), then returns the digest.
  func drainAndDigest() throws -> String {
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { scratch.deallocate() }
    while try read(into: scratch) > 0 {}
    return Hex.encode(hasher.finalize())
  }
}
