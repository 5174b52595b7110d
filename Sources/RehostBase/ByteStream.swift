/// Somewhere bytes go, in order: a file, an encryptor, a compressor.
///
/// Sinks compose into pipelines (tar -> zstd -> chunked AES-GCM -> file); each stage
/// owns the next and passes `finish()` down after flushing its own buffers.
public protocol ByteSink: AnyObject {
  /// Consumes all of `bytes` (or throws).
  func write(_ bytes: UnsafeRawBufferPointer) throws
  /// Flushes everything buffered and finishes the stream below.
  func finish() throws
}

/// Somewhere bytes come from, in order.
public protocol ByteSource: AnyObject {
  /// Reads up to `buffer.count` bytes; returns 0 only at the end of the stream.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension ByteSink {
  /// Writes a byte array.
  public func write(_ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try write($0) }
  }
}

extension ByteSource {
  /// Reads until `buffer` is full or the stream ends; returns the count read.
  public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    var filled = 0
    while filled < buffer.count {
      let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
      if n == 0 { break }
      filled += n
    }
    return filled
  }
}
