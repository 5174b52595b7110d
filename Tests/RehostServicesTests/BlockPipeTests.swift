import Foundation
import RehostBase
import RehostStorage
import Testing

@Suite struct BlockPipeTests {
  /// Bytes cross threads unchanged and in order, whatever the write and read sizes.
  @Test(arguments: [(1, 1), (7, 3), (1000, 64), (5000, 4096), (100_000, 1)])
  func bytesArriveInOrder(writeSize: Int, readSize: Int) throws {
    let pipe = BlockPipe(capacity: 3, blockSize: 4096)
    let total = 300_000
    let producer = BackgroundStage(name: "test-producer") {
      var i = 0
      while i < total {
        let n = min(writeSize, total - i)
        let chunk = (i..<i + n).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try? chunk.withUnsafeBytes { try pipe.write($0) }
        i += n
      }
      pipe.close(error: nil)
    }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: readSize)
    while true {
      let n = try buffer.withUnsafeMutableBytes { try pipe.read(into: $0) }
      if n == 0 { break }
      received += buffer[0..<n]
    }
    producer.wait()
    #expect(received.count == total)
    #expect(received == (0..<total).map { UInt8(truncatingIfNeeded: $0 * 7) })
  }

  struct Boom: Error {}

  @Test func theProducersErrorReachesTheConsumerAfterItsBytes() throws {
    let pipe = BlockPipe(capacity: 2, blockSize: 16)
    try [UInt8](repeating: 1, count: 10).withUnsafeBytes { try pipe.write($0) }
    pipe.close(error: Boom())
    var buffer = [UInt8](repeating: 0, count: 64)
    #expect(throws: Boom.self) { try buffer.withUnsafeMutableBytes { _ = try pipe.read(into: $0) } }
  }

  @Test func cancellingUnblocksTheProducer() throws {
    let pipe = BlockPipe(capacity: 1, blockSize: 16)
    let outcome = Outcome()
    let producer = BackgroundStage(name: "test-producer") {
      do {
        for _ in 0..<100 { try [UInt8](repeating: 2, count: 16).withUnsafeBytes { try pipe.write($0) } }
      } catch {
        outcome.failed = true
      }
    }
    usleep(20_000)
    pipe.cancel()
    producer.wait()
    #expect(outcome.failed)
  }

  final class Outcome: @unchecked Sendable { var failed = false }

  /// What a WriteBehindSink passes on: the bytes, how often it was finished, and a failure
  /// once more than `failAfter` bytes would have been written.
  final class RecordingSink: ByteSink, @unchecked Sendable {
    private let lock = NSLock()
    private var received: [UInt8] = []
    private var finishes = 0
    let failAfter: Int?
    let delay: UInt32
    init(failAfter: Int? = nil, delay: UInt32 = 0) { (self.failAfter, self.delay) = (failAfter, delay) }
    var bytes: [UInt8] { lock.lock(); defer { lock.unlock() }; return received }
    var finished: Int { lock.lock(); defer { lock.unlock() }; return finishes }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
      if delay > 0 { usleep(delay) }
      lock.lock()
      defer { lock.unlock() }
      if let failAfter, received.count + bytes.count > failAfter { throw Boom() }
      received += bytes
    }
    func finish() throws { lock.lock(); finishes += 1; lock.unlock() }
  }

  /// Bytes reach the sink behind in order, whatever the write sizes, and finish finishes it once.
  @Test(arguments: [1, 100, 4095, 4096, 70_000]) func writeBehindPassesBytesOnInOrder(writeSize: Int) throws {
    let sink = RecordingSink()
    let behind = WriteBehindSink(next: sink, name: "test-writer", capacity: 3, blockSize: 4096)
    let all = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 9) }
    var offset = 0
    while offset < all.count {
      let n = min(writeSize, all.count - offset)
      try all[offset..<offset + n].withUnsafeBytes { try behind.write($0) }
      offset += n
    }
    #expect(sink.finished == 0)
    try behind.finish()
    #expect(sink.bytes == all)
    #expect(sink.finished == 1)
  }

  /// The sink's own error (not a cancellation) comes back, on a later write or at finish,
  /// and the sink is not finished after it.
  @Test(arguments: [0, 5000, 100_000]) func writeBehindReportsTheSinksError(failAfter: Int) throws {
    let sink = RecordingSink(failAfter: failAfter)
    let behind = WriteBehindSink(next: sink, name: "test-writer", capacity: 2, blockSize: 4096)
    let chunk = [UInt8](repeating: 7, count: 1000)
    var thrown: Error?
    for _ in 0..<1000 where thrown == nil {
      do { try chunk.withUnsafeBytes { try behind.write($0) } } catch { thrown = error }
    }
    if thrown == nil { do { try behind.finish() } catch { thrown = error } }
    #expect(thrown is Boom, "\(String(describing: thrown))")
    #expect(sink.finished == 0)
    #expect(sink.bytes.count <= failAfter)
  }

  /// Abandoning stops the thread: nothing more reaches the sink once it returns, and the
  /// sink is not finished.
  @Test func abandoningStopsTheWriter() throws {
    let sink = RecordingSink(delay: 2000)
    let behind = WriteBehindSink(next: sink, name: "test-writer", capacity: 4, blockSize: 4096)
    let block = [UInt8](repeating: 3, count: 4096)
    for _ in 0..<4 { try block.withUnsafeBytes { try behind.write($0) } }
    behind.abandon()
    let seen = sink.bytes.count
    usleep(30_000)
    #expect(sink.bytes.count == seen)
    #expect(seen < 4 * 4096)
    #expect(sink.finished == 0)
    behind.abandon()  // twice is harmless
  }
}
