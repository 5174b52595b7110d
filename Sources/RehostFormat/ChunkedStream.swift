import RehostBase
import RehostCrypto

/// The payload's chunked AES-256-GCM stream. It knows one key and nothing of
/// recipients, seals or archives.
///
/// Plaintext is cut into chunks of `chunkSize` bytes (the last may be shorter).
/// Chunk `i` is sealed with nonce = 88-bit big-endian `i` || final flag byte
/// (1 for the last chunk, else 0). Hence:
/// - reordering, duplicating or dropping a chunk breaks the counter,
/// - cutting the stream at a chunk boundary leaves no chunk with the final flag,
/// - bytes after the final chunk are refused,
/// - a chunk from another archive fails, since every archive has its own key.
public enum ChunkedStream {
  public static let defaultChunkSize = 64 * 1024
  public static let allowedChunkSizes = (12...24).map { 1 << $0 }  // 4 KiB ... 16 MiB

  static func nonce(counter: UInt64, final: Bool) -> [UInt8] {
    var nonce = [UInt8](repeating: 0, count: AESGCM.nonceSize)
    for i in 0..<8 { nonce[3 + i] = UInt8(truncatingIfNeeded: counter >> (56 - 8 * UInt64(i))) }
    nonce[11] = final ? 1 : 0
    return nonce
  }

  /// What a payload of `length` bytes must look like, checked without any key:
  /// returns the number of chunks, or a reason the length is impossible.
  public static func chunkCount(payloadLength: Int64, chunkSize: Int) -> Result<Int64, RehostError> {
    let sealedChunk = Int64(chunkSize + AESGCM.tagSize)
    if payloadLength < Int64(AESGCM.tagSize) {
      return .failure(RehostError(.corrupt, "the payload is \(payloadLength) bytes, shorter than one sealed chunk: the archive is truncated"))
    }
    let full = payloadLength / sealedChunk
    let rest = payloadLength % sealedChunk
    if rest == 0 { return .success(full) }
    if rest < Int64(AESGCM.tagSize) || (rest == Int64(AESGCM.tagSize) && full > 0) {
      return .failure(RehostError(.corrupt, "the payload ends with a \(rest)-byte fragment that cannot be a sealed chunk: the archive is truncated or has bytes appended"))
    }
    return .success(full + 1)
  }
}

/// Encrypts a byte stream into sealed chunks written to `next`.
public final class ChunkEncryptor: ByteSink {
  private let next: ByteSink
  private let cipher: AESGCM
  private let chunkSize: Int
  private var buffer: UnsafeMutableRawBufferPointer
  private var sealed: UnsafeMutableRawBufferPointer
  private var filled = 0
  private var counter: UInt64 = 0
  private var finished = false

  public init(key: [UInt8], chunkSize: Int, next: ByteSink) throws {
    precondition(ChunkedStream.allowedChunkSizes.contains(chunkSize))
    self.cipher = try AESGCM(key: key)
    self.chunkSize = chunkSize
    self.next = next
    buffer = .allocate(byteCount: chunkSize, alignment: 16)
    sealed = .allocate(byteCount: chunkSize + AESGCM.tagSize, alignment: 16)
  }

  deinit {
    buffer.deallocate()
    sealed.deallocate()
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    precondition(!finished)
    var offset = 0
    while offset < bytes.count {
      // A full buffer is sealed only once more data arrives: until then it may be the last chunk.
      if filled == chunkSize { try emit(final: false) }
      let n = min(chunkSize - filled, bytes.count - offset)
      UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + n])
        .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
      filled += n
      offset += n
    }
  }

  public func finish() throws {
    precondition(!finished)
    try emit(final: true)
    finished = true
    try next.finish()
  }

  private func emit(final: Bool) throws {
    let nonce = ChunkedStream.nonce(counter: counter, final: final)
    try nonce.withUnsafeBytes { n in
      try cipher.seal(nonce: n, aad: UnsafeRawBufferPointer(start: nil, count: 0),
                      plaintext: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), into: sealed.baseAddress!)
    }
    try next.write(UnsafeRawBufferPointer(rebasing: sealed[0..<filled + AESGCM.tagSize]))
    counter += 1
    filled = 0
  }
}

/// Decrypts sealed chunks read from `source`, refusing anything out of order,
/// truncated, appended or forged. Errors name the chunk and its byte offset in the file.
public final class ChunkDecryptor: ByteSource {
  private let source: ByteSource
  private let cipher: AESGCM
  private let chunkSize: Int
  private let payloadOffset: Int64
  private var sealed: UnsafeMutableRawBufferPointer  // one sealed chunk + 1 byte of lookahead
  private var sealedFilled = 0
  private var plain: UnsafeMutableRawBufferPointer
  private var plainStart = 0, plainEnd = 0
  private var counter: UInt64 = 0
  private var sawFinal = false

  /// - Parameter payloadOffset: where the payload starts in the file, for error messages.
  public init(key: [UInt8], chunkSize: Int, source: ByteSource, payloadOffset: Int64) throws {
    precondition(ChunkedStream.allowedChunkSizes.contains(chunkSize))
    self.cipher = try AESGCM(key: key)
    self.chunkSize = chunkSize
    self.source = source
    self.payloadOffset = payloadOffset
    sealed = .allocate(byteCount: chunkSize + AESGCM.tagSize + 1, alignment: 16)
    plain = .allocate(byteCount: chunkSize + 1, alignment: 16)
  }

  deinit {
    sealed.deallocate()
    plain.deallocate()
  }

  /// Chunks authenticated so far.
  public var chunksRead: UInt64 { counter }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    while plainStart == plainEnd {
      if sawFinal { return 0 }
      try nextChunk()
    }
    let n = min(buffer.count, plainEnd - plainStart)
    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: plain[plainStart..<plainStart + n]))
    plainStart += n
    return n
  }

  private func offsetDescription() -> String {
    let offset = payloadOffset + Int64(counter) * Int64(chunkSize + AESGCM.tagSize)
    return "chunk \(counter) (at byte \(offset))"
  }

  private func nextChunk() throws {
    let sealedSize = chunkSize + AESGCM.tagSize
    sealedFilled += try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: sealed[sealedFilled...]))
    let isFinal = sealedFilled <= sealedSize
    let length = isFinal ? sealedFilled : sealedSize
    if length < AESGCM.tagSize || (isFinal && length == AESGCM.tagSize && counter > 0) {
      throw RehostError(.corrupt, "the archive ends inside \(offsetDescription()): it is truncated",
                        hint: "the file was cut short in transit or on disk; use another copy")
    }
    let chunk = UnsafeRawBufferPointer(rebasing: sealed[0..<length])
    if try !open(chunk, final: isFinal) {
      // Only to word the error precisely: does the chunk open with the other flag?
      if try open(chunk, final: !isFinal) {
        if isFinal {
          throw RehostError(.corrupt, "the archive ends after \(offsetDescription()), which is not the last chunk: it is truncated",
                            hint: "the file was cut short at a chunk boundary; use another copy")
        }
        throw RehostError(.corrupt, "bytes follow the final chunk, \(offsetDescription()): data was appended to the archive",
                          hint: "do not trust this copy; use another copy and compare its SHA-256 with the seal")
      }
      throw RehostError(.corrupt, "\(offsetDescription()) failed authentication: the archive is corrupt or was tampered with",
                        hint: "do not trust this copy; use another copy and compare its SHA-256 with the seal")
    }
    plainStart = 0
    plainEnd = length - AESGCM.tagSize
    counter += 1
    if isFinal {
      sawFinal = true
      sealedFilled = 0
    } else {
      // Keep the lookahead byte as the start of the next chunk.
      sealed[0] = sealed[sealedSize]
      sealedFilled = 1
    }
  }

  private func open(_ chunk: UnsafeRawBufferPointer, final: Bool) throws -> Bool {
    let nonce = ChunkedStream.nonce(counter: counter, final: final)
    return try nonce.withUnsafeBytes { n in
      try cipher.open(nonce: n, aad: UnsafeRawBufferPointer(start: nil, count: 0), sealed: chunk, into: plain.baseAddress!)
    }
  }
}
