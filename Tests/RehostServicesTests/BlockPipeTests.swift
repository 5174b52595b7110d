import Foundation
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
}
