import RehostBase
import RehostCrypto
import RehostFormat
import Testing

/// In-memory sink and source for stream tests.
final class MemorySink: ByteSink {
  var bytes: [UInt8] = []
  var finished = false
  func write(_ b: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: b.bindMemory(to: UInt8.self)) }
  func finish() throws { finished = true }
}

final class MemorySource: ByteSource {
  let bytes: [UInt8]
  var offset = 0
  let maxRead: Int
  init(_ bytes: [UInt8], maxRead: Int = .max) { self.bytes = bytes; self.maxRead = maxRead }
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = min(buffer.count, bytes.count - offset, maxRead)
    buffer.copyBytes(from: bytes[offset..<offset + n])
    offset += n
    return n
  }
}

let chunk = 4096
let sealedChunk = chunk + 16

func encrypt(_ plain: [UInt8], key: [UInt8], writeSize: Int = 1000) throws -> [UInt8] {
  let sink = MemorySink()
  let enc = try ChunkEncryptor(key: key, chunkSize: chunk, next: sink)
  var i = 0
  while i < plain.count {
    let j = min(plain.count, i + writeSize)
    try enc.write(Array(plain[i..<j]))
    i = j
  }
  try enc.finish()
  #expect(sink.finished)
  return sink.bytes
}

func decrypt(_ sealed: [UInt8], key: [UInt8], maxRead: Int = .max) throws -> [UInt8] {
  let dec = try ChunkDecryptor(key: key, chunkSize: chunk, source: MemorySource(sealed, maxRead: maxRead), payloadOffset: 0)
  var out: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 777)
  while true {
    let n = try buffer.withUnsafeMutableBytes { try dec.read(into: $0) }
    if n == 0 { return out }
    out += buffer[0..<n]
  }
}

func expectCorrupt(_ body: () throws -> Void, mentioning words: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
  do {
    try body()
    Issue.record("expected a corrupt-archive error", sourceLocation: sourceLocation)
  } catch let error as RehostError {
    #expect(error.kind == .corrupt, sourceLocation: sourceLocation)
    if let words { #expect(error.message.contains(words), "\(error.message)", sourceLocation: sourceLocation) }
  } catch {
    Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
  }
}

@Suite struct ChunkedStreamTests {
  let key = try! SecureRandom.bytes(32)

  @Test(arguments: [0, 1, 4095, 4096, 4097, 8192, 3 * 4096 + 5])
  func roundTrip(size: Int) throws {
    let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let sealed = try encrypt(plain, key: key)
    let expectedChunks = max(1, (size + chunk - 1) / chunk)
    #expect(sealed.count == size + 16 * expectedChunks)
    #expect(try decrypt(sealed, key: key) == plain)
    #expect(try decrypt(sealed, key: key, maxRead: 7) == plain)  // short reads from below
    #expect(try ChunkedStream.chunkCount(payloadLength: Int64(sealed.count), chunkSize: chunk).get() == Int64(expectedChunks))
  }

  @Test func everyFlippedBitPositionClassIsDetected() throws {
    let plain = [UInt8](repeating: 7, count: 3 * chunk + 100)
    let sealed = try encrypt(plain, key: key)
    // First byte, a byte in each chunk, each tag, and the last byte.
    let positions = [0, 1, chunk - 1, chunk + 5, sealedChunk, sealedChunk + 17, 2 * sealedChunk + 3, sealed.count - 17, sealed.count - 1]
    for p in positions {
      var bad = sealed
      bad[p] ^= 0x01
      expectCorrupt({ _ = try decrypt(bad, key: key) }, mentioning: "chunk")
    }
  }

  @Test func truncationAtAndBetweenChunkBoundariesIsDetected() throws {
    let sealed = try encrypt([UInt8](repeating: 1, count: 3 * chunk + 100), key: key)
    for cut in [sealedChunk, 2 * sealedChunk, 3 * sealedChunk] {
      expectCorrupt({ _ = try decrypt(Array(sealed[..<cut]), key: key) }, mentioning: "truncated")
    }
    for cut in [0, 1, 15, 100, sealedChunk + 1, 2 * sealedChunk + 16, sealed.count - 1] {
      expectCorrupt({ _ = try decrypt(Array(sealed[..<cut]), key: key) })
    }
  }

  @Test func truncationOfAnExactMultipleIsDetected() throws {
    let sealed = try encrypt([UInt8](repeating: 1, count: 2 * chunk), key: key)
    #expect(sealed.count == 2 * sealedChunk)
    expectCorrupt({ _ = try decrypt(Array(sealed[..<sealedChunk]), key: key) }, mentioning: "truncated")
  }

  @Test func duplicatedSwappedAndDroppedChunksAreDetected() throws {
    let sealed = try encrypt([UInt8](repeating: 2, count: 3 * chunk + 100), key: key)
    let c = (0..<4).map { i in Array(sealed[(i * sealedChunk)..<min(sealed.count, (i + 1) * sealedChunk)]) }
    expectCorrupt { _ = try decrypt(c[0] + c[0] + c[1] + c[2] + c[3], key: key) }  // duplicated
    expectCorrupt { _ = try decrypt(c[0] + c[2] + c[1] + c[3], key: key) }  // swapped
    expectCorrupt { _ = try decrypt(c[0] + c[2] + c[3], key: key) }  // dropped
    expectCorrupt { _ = try decrypt(c[0] + c[1] + c[2] + c[2] + c[3], key: key) }
  }

  @Test func appendedBytesAreDetected() throws {
    let sealed = try encrypt([UInt8](repeating: 3, count: chunk), key: key)  // exactly one full final chunk
    expectCorrupt({ _ = try decrypt(sealed + [0], key: key) }, mentioning: "appended")
    let partial = try encrypt([UInt8](repeating: 3, count: 100), key: key)
    expectCorrupt { _ = try decrypt(partial + [1, 2, 3], key: key) }
    expectCorrupt { _ = try decrypt(partial + partial, key: key) }
  }

  @Test func aChunkFromAnotherStreamIsRejected() throws {
    let plain = [UInt8](repeating: 4, count: 2 * chunk + 10)
    let a = try encrypt(plain, key: key)
    let b = try encrypt(plain, key: try SecureRandom.bytes(32))
    let spliced = Array(a[..<sealedChunk]) + Array(b[sealedChunk..<(2 * sealedChunk)]) + Array(a[(2 * sealedChunk)...])
    expectCorrupt({ _ = try decrypt(spliced, key: key) }, mentioning: "chunk 1")
  }

  @Test func impossibleLengthsAreReportedWithoutAKey() {
    #expect((try? ChunkedStream.chunkCount(payloadLength: 10, chunkSize: chunk).get()) == nil)
    #expect((try? ChunkedStream.chunkCount(payloadLength: Int64(sealedChunk + 5), chunkSize: chunk).get()) == nil)
    #expect((try? ChunkedStream.chunkCount(payloadLength: Int64(sealedChunk + 16), chunkSize: chunk).get()) == nil)
    #expect((try? ChunkedStream.chunkCount(payloadLength: 16, chunkSize: chunk).get()) == 1)
  }
}
