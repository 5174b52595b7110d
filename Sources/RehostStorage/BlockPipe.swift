import Foundation
import RehostBase

/// A bounded queue of byte blocks between two threads: one stage of a pipeline
/// produces (`write`), the next consumes (`read`). The blocks are allocated once, so
/// memory stays at `capacity` × `blockSize` however much passes through.
///
/// The producer ends the stream with ``close(error:)``; the consumer sees the bytes, then
/// the producer's error (if any) or the end. A consumer that gives up calls ``cancel()``,
/// and the producer's next `write` throws, so neither side waits forever.
public final class BlockPipe: ByteSink, ByteSource, @unchecked Sendable {
  private let condition = NSCondition()
  private let blocks: [UnsafeMutableRawBufferPointer]
  private var lengths: [Int]
  /// Blocks are filled in ring order: `head` is the next to read, `count` are full.
  private var head = 0, count = 0
  /// The producer's partly filled block (not yet counted) and the consumer's position.
  private var filling = 0
  private var readOffset = 0
  private var closed = false
  private var failure: Error?
  private var cancelled = false

  public init(capacity: Int = 8, blockSize: Int = 1 << 20) {
    blocks = (0..<capacity).map { _ in .allocate(byteCount: blockSize, alignment: 16) }
    lengths = Array(repeating: 0, count: capacity)
  }

  deinit { blocks.forEach { $0.deallocate() } }

  /// Producer: copies `bytes` into free blocks, waiting while all are full.
  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
      condition.lock()
      while count == blocks.count && !cancelled { condition.wait() }
      if cancelled {
        condition.unlock()
        throw CancellationError()
      }
      let index = (head + count) % blocks.count
      condition.unlock()
      // The block at `index` is the producer's alone until it is counted.
      let block = blocks[index]
      let n = min(block.count - filling, bytes.count - offset)
      UnsafeMutableRawBufferPointer(rebasing: block[filling..<filling + n])
        .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
      filling += n
      offset += n
      if filling == block.count { publish() }
    }
  }

  /// Producer: copies `source` to its end into the pipe, `bufferSize` bytes at a time
  /// (the pipe stays open: the caller closes it, with the error if this throws).
  public func write(contentsOf source: ByteSource, bufferSize: Int = 1 << 20) throws {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let n = try source.read(into: buffer)
      if n == 0 { return }
      try write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
  }

  /// Producer: the end of the stream.
  public func finish() throws { close(error: nil) }

  /// Producer: ends the stream, with the error that stopped it if any.
  public func close(error: Error?) {
    if filling > 0 && error == nil { publish() }
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
    condition.broadcast()
    condition.unlock()
  }

  /// Consumer: reads queued bytes, waiting for the producer; 0 at the end.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    condition.lock()
    while count == 0 && !closed { condition.wait() }
    if count == 0 {
      let error = failure
      condition.unlock()
      if let error { throw error }
      return 0
    }
    let index = head
    condition.unlock()
    // The block at `head` is the consumer's alone until it is released.
    let length = lengths[index]
    let n = min(buffer.count, length - readOffset)
    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: blocks[index][readOffset..<readOffset + n]))
    readOffset += n
    if readOffset == length {
      readOffset = 0
      condition.lock()
      head = (head + 1) % blocks.count
      count -= 1
      condition.broadcast()
      condition.unlock()
    }
    return n
  }

  private func publish() {
    condition.lock()
    lengths[(head + count) % blocks.count] = filling
    count += 1
    filling = 0
    condition.broadcast()
    condition.unlock()
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

/// A ``BackgroundStage`` that hands back a value or an error, joined with ``result()``.
public final class BackgroundTask<T>: @unchecked Sendable {
  private var outcome: Result<T, Error>?
  private var stage: BackgroundStage?

  public init(name: String, _ body: @escaping () throws -> T) {
    // The outcome is written before the stage signals, and read only after `wait()`.
    stage = BackgroundStage(name: name) { [self] in
      self.outcome = Result { try body() }
    }
  }

  /// Waits for the work; returns what it returned, or throws what it threw.
  public func result() throws -> T {
    stage?.wait()
    return try outcome!.get()
  }
}

/// A sink whose writes are done by a thread of its own: ``write(_:)`` queues the bytes in
/// a bounded ``BlockPipe`` and returns, and the thread passes them on, in order, to
/// `next` (which belongs to that thread from then on). The first error of `next` is
/// thrown by the following `write` or by ``finish()``. A stream given up on (any error)
/// must be ``abandon()``ed before anything `next` leads to is touched: it returns once the
/// thread has stopped.
public final class WriteBehindSink: ByteSink, @unchecked Sendable {
  private let pipe: BlockPipe
  private let stop = StopFlag()
  private var task: BackgroundTask<Void>?

  public init(next: ByteSink, name: String, capacity: Int = 4, blockSize: Int = 1 << 20) {
    let pipe = BlockPipe(capacity: capacity, blockSize: blockSize)
    self.pipe = pipe
    nonisolated(unsafe) let next = next
    let stop = self.stop
    task = BackgroundTask(name: name) {
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
      defer { buffer.deallocate() }
      do {
        while true {
          let n = try pipe.read(into: buffer)
          if stop.isSet { return }
          if n == 0 { break }
          try next.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        try next.finish()
      } catch {
        pipe.cancel()
        throw error
      }
    }
  }

  deinit { abandon() }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    do {
      try pipe.write(bytes)
    } catch is CancellationError {
      try joined()  // the thread's own error
      throw CancellationError()
    }
  }

  /// Queues the end of the stream and waits until `next` has finished it.
  public func finish() throws {
    pipe.close(error: nil)
    try joined()
  }

  /// Stops the thread without finishing `next` (queued bytes are dropped), and returns
  /// once the thread no longer touches it.
  public func abandon() {
    stop.set()
    pipe.close(error: CancellationError())
    _ = try? joined()
  }

  private func joined() throws {
    guard let task else { return }
    self.task = nil
    try task.result()
  }

  private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool {
      lock.lock()
      defer { lock.unlock() }
      return value
    }
    func set() {
      lock.lock()
      value = true
      lock.unlock()
    }
  }
}
