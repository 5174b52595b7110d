import Foundation
import RehostBase

/// A bounded queue of byte blocks between two threads: one stage of a pipeline
/// produces (`write`), the next consumes (`read`). Memory stays at `capacity` blocks.
///
/// The producer ends the stream with ``close(error:)``; the consumer sees the bytes, then
/// the producer's error (if any) or the end. A consumer that gives up calls ``cancel()``,
/// and the producer's next `write` throws, so neither side waits forever.
public final class BlockPipe: ByteSink, ByteSource, @unchecked Sendable {
  private let condition = NSCondition()
  private var blocks: [[UInt8]] = []
  private var current: [UInt8] = []
  private var offset = 0
  private var closed = false
  private var failure: Error?
  private var cancelled = false
  private let capacity: Int

  public init(capacity: Int = 8) { self.capacity = capacity }

  /// Producer: queues a copy of `bytes`, waiting while the queue is full.
  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard bytes.count > 0 else { return }
    let block = [UInt8](bytes.bindMemory(to: UInt8.self))
    condition.lock()
    defer { condition.unlock() }
    while blocks.count >= capacity && !cancelled { condition.wait() }
    if cancelled { throw CancellationError() }
    blocks.append(block)
    condition.broadcast()
  }

  /// Producer: the end of the stream.
  public func finish() throws { close(error: nil) }

  /// Producer: ends the stream, with the error that stopped it if any.
  public func close(error: Error?) {
    condition.lock()
    closed = true
    failure = error
    condition.broadcast()
    condition.unlock()
  }

  /// Consumer: stop; a waiting or later `write` throws.
  public func cancel() {
    condition.lock()
    cancelled = true
    blocks.removeAll()
    condition.broadcast()
    condition.unlock()
  }

  /// Consumer: reads queued bytes, waiting for the producer; 0 at the end.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    if offset == current.count {
      condition.lock()
      while blocks.isEmpty && !closed { condition.wait() }
      if blocks.isEmpty {
        let error = failure
        condition.unlock()
        if let error { throw error }
        return 0
      }
      current = blocks.removeFirst()
      offset = 0
      condition.broadcast()
      condition.unlock()
    }
    let n = min(buffer.count, current.count - offset)
    current.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
    offset += n
    return n
  }
}

/// Runs `body` on a new thread; ``wait()`` blocks until it has returned.
///
/// `body` takes ownership of what it captures: the starting thread must not touch
/// those objects until `wait()` returns (hence the unchecked sendability).
public final class BackgroundStage: @unchecked Sendable {
  private let done = DispatchSemaphore(value: 0)
  private var finished = false

  public init(name: String, _ body: @escaping () -> Void) {
    nonisolated(unsafe) let work = body
    let thread = Thread { [done] in
      work()
      done.signal()
    }
    thread.name = name
    thread.stackSize = 1 << 20
    thread.start()
  }

  public func wait() {
    guard !finished else { return }
    done.wait()
    finished = true
  }
}
