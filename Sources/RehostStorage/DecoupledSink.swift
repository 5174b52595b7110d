import RehostBase

/// A sink whose writes return as soon as the bytes are queued: a thread of its own feeds
/// them to `next`. Put between two stages of a pipeline so that neither waits on the
/// other's scheduling (compression on one side; encryption, hashing and writing on the
/// other), with `capacity` × `blockSize` bytes of slack between them.
///
/// An error of `next` surfaces on the producer's next `write` or at `finish`, as itself.
public final class DecoupledSink: ByteSink {
  private let pipe: BlockPipe
  private var consumer: BackgroundTask<Void>?

  public init(next: ByteSink, name: String, capacity: Int = 8, blockSize: Int = 512 << 10) {
    let pipe = BlockPipe(capacity: capacity, blockSize: blockSize)
    self.pipe = pipe
    // From here on `next` belongs to the consumer thread.
    nonisolated(unsafe) let sink = next
    consumer = BackgroundTask(name: name) {
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
      defer { buffer.deallocate() }
      do {
        while true {
          let n = try pipe.read(into: buffer)
          if n == 0 { break }
          try sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        try sink.finish()
      } catch {
        pipe.cancel()
        throw error
      }
    }
  }

  deinit { abandon() }

  /// Stops the consumer and waits for it, so that nothing writes to `next` afterwards
  /// (call before closing or removing what `next` writes to).
  public func abandon() {
    pipe.close(error: CancellationError())
    _ = try? consumer?.result()
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    do {
      try pipe.write(bytes)
    } catch is CancellationError {
      // The consumer stopped: its error is the one to report.
      try consumer?.result()
      throw CancellationError()
    }
  }

  /// Ends the stream and waits until `next` has taken all of it and finished.
  public func finish() throws {
    pipe.close(error: nil)
    try consumer?.result()
  }
}
