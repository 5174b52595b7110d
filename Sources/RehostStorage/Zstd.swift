import CZstd
import RehostBase

/// Streaming zstd compression into another sink. With `workers` > 0, libzstd
/// compresses on its own threads while the caller goes on producing input.
public final class ZstdCompressor: ByteSink {
  private let ctx: OpaquePointer
  private let next: ByteSink
  private var out: UnsafeMutableRawBufferPointer

  public init(level: Int32 = 3, workers: Int32 = 0, next: ByteSink) throws {
    guard let ctx = ZSTD_createCCtx() else { throw RehostError(.failure, "zstd: cannot allocate a compression context") }
    self.ctx = ctx
    self.next = next
    out = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 16)
    try Self.check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level))
    try Self.check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1))
    if workers > 0 {
      try Self.check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_nbWorkers, workers))
      // 512 KiB jobs (zstd's least) instead of the default 8 MiB: peak memory 56 MiB
      // instead of 104 MiB at 2 MiB jobs on the 1 GiB bench corpus, same speed idle, output
      // 0.1 % larger; beside busy processes the workers hand over more often, which
      // looked a little better (0.60-0.82 of the pipeline's speed against 0.54-0.70 with
      // 2 MiB, within this machine's noise).
      try Self.check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_jobSize, 512 << 10))
    }
  }

  deinit {
    ZSTD_freeCCtx(ctx)
    out.deallocate()
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
    while input.pos < input.size {
      try step(&input, ZSTD_e_continue)
    }
  }

  public func finish() throws {
    var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    while try step(&input, ZSTD_e_end) != 0 {}
    try next.finish()
  }

  @discardableResult
  private func step(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws -> Int {
    var output = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
    let remaining = ZSTD_compressStream2(ctx, &output, &input, mode)
    try Self.check(remaining)
    if output.pos > 0 { try next.write(UnsafeRawBufferPointer(rebasing: out[0..<output.pos])) }
    return remaining
  }

  static func check(_ result: Int) throws {
    if ZSTD_isError(result) != 0 {
      throw RehostError(.failure, "zstd compression failed: \(String(cString: ZSTD_getErrorName(result)))")
    }
  }
}

/// Streaming zstd decompression of another source. The stream must end exactly at
/// the end of a complete frame.
public final class ZstdDecompressor: ByteSource {
  private let ctx: OpaquePointer
  private let source: ByteSource
  private var inBuffer: UnsafeMutableRawBufferPointer
  private var input: ZSTD_inBuffer
  /// The one frame the payload holds has been decoded and flushed.
  private var frameEnded = false
  private var sourceEnded = false

  public init(source: ByteSource) throws {
    guard let ctx = ZSTD_createDCtx() else { throw RehostError(.failure, "zstd: cannot allocate a decompression context") }
    self.ctx = ctx
    self.source = source
    inBuffer = .allocate(byteCount: ZSTD_DStreamInSize(), alignment: 16)
    input = ZSTD_inBuffer(src: inBuffer.baseAddress, size: 0, pos: 0)
    // Bound the window a hostile frame may ask for (128 MiB; we write 8 MiB at level 3).
    ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, 27)
  }

  deinit {
    ZSTD_freeDCtx(ctx)
    inBuffer.deallocate()
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    guard buffer.count > 0 else { return 0 }
    while true {
      if frameEnded {
        // Exactly one frame: anything after it is refused, not skipped.
        if input.pos == input.size && !sourceEnded {
          let n = try source.read(into: inBuffer)
          input = ZSTD_inBuffer(src: inBuffer.baseAddress, size: n, pos: 0)
          if n == 0 { sourceEnded = true }
        }
        if input.pos < input.size {
          throw RehostError(.corrupt, "data follows the compressed payload's zstd frame",
                            hint: "the archive was not written by rehost as sealed; do not trust it")
        }
        return 0
      }
      if input.pos == input.size && !sourceEnded {
        let n = try source.read(into: inBuffer)
        input = ZSTD_inBuffer(src: inBuffer.baseAddress, size: n, pos: 0)
        if n == 0 { sourceEnded = true }
      }
      if input.pos == input.size && sourceEnded {
        throw RehostError(.corrupt, "the compressed payload ends inside a zstd frame",
                          hint: "the archive is damaged; use another copy")
      }
      var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
      let result = ZSTD_decompressStream(ctx, &output, &input)
      if ZSTD_isError(result) != 0 {
        throw RehostError(.corrupt, "the payload does not decompress: \(String(cString: ZSTD_getErrorName(result)))",
                          hint: "the archive is damaged; use another copy")
      }
      if result == 0 { frameEnded = true }
      if output.pos > 0 { return output.pos }
    }
  }
}
