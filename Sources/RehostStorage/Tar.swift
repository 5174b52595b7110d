import CArchive
import RehostBase

/// Writes a pax tar stream (libarchive) into a sink.
public final class TarWriter {
  private let archive: OpaquePointer
  private let sink: ByteSink
  /// The sink's error, kept because it cannot cross libarchive's C callback.
  fileprivate var sinkError: Error?

  public init(sink: ByteSink) throws {
    _ = byteNames
    archive = archive_write_new()
    self.sink = sink
    archive_write_set_format_pax(archive)
    archive_write_set_bytes_per_block(archive, 128 * 1024)
    // No padding of the last block: the stream is compressed and encrypted after us.
    archive_write_set_bytes_in_last_block(archive, 1)
    let result = archive_write_open2(
      archive, Unmanaged.passUnretained(self).toOpaque(), nil,
      { a, client, buffer, length in
        let writer = Unmanaged<TarWriter>.fromOpaque(client!).takeUnretainedValue()
        do {
          try writer.sink.write(UnsafeRawBufferPointer(start: buffer, count: length))
          return la_ssize_t(length)
        } catch {
          writer.sinkError = error
          rehost_archive_set_error(a, -1, "\(error)")
          return -1
        }
      }, nil, nil)
    if result != ARCHIVE_OK { throw RehostError(.failure, "tar: \(archiveMessage(archive))") }
  }

  deinit { archive_write_free(archive) }

  public func writeHeader(_ entry: ArchiveEntry) throws {
    try check(archive_write_header(archive, entry.raw), "write header for \(entry.shownPath)")
  }

  public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
      let n = archive_write_data(archive, bytes.baseAddress! + offset, bytes.count - offset)
      if n < 0 { try fail("write data") }
      offset += n
    }
  }

  /// Ends the tar stream and finishes the sink.
  public func finish() throws {
    try check(archive_write_close(archive), "close")
    try sink.finish()
  }

  private func check(_ result: Int32, _ what: String) throws {
    if result == ARCHIVE_OK { return }
    if result == ARCHIVE_WARN && sinkError == nil { return }
    try fail(what)
  }

  private func fail(_ what: String) throws -> Never {
    if let sinkError { throw sinkError }
    throw RehostError(.failure, "tar: cannot \(what): \(archiveMessage(archive))")
  }
}

/// Reads a tar stream (libarchive) from a source.
public final class TarReader {
  private let archive: OpaquePointer
  private let source: ByteSource
  private var buffer: UnsafeMutableRawBufferPointer
  fileprivate var sourceError: Error?
  /// Bytes libarchive has taken from the source so far.
  public fileprivate(set) var bytesRead: Int64 = 0
  /// Where the end-of-archive marker starts, once ``next()`` has returned nil.
  public private(set) var endOfArchiveOffset: Int64?
  /// The last bytes taken from the source (the end-of-archive marker, at the end).
  private var tail: [UInt8] = []

  public init(source: ByteSource) throws {
    _ = byteNames
    archive = archive_read_new()
    self.source = source
    buffer = .allocate(byteCount: 256 * 1024, alignment: 16)
    archive_read_support_format_tar(archive)
    let result = archive_read_open(
      archive, Unmanaged.passUnretained(self).toOpaque(), nil,
      { a, client, out in
        let reader = Unmanaged<TarReader>.fromOpaque(client!).takeUnretainedValue()
        do {
          let n = try reader.source.read(into: reader.buffer)
          reader.passed(UnsafeRawBufferPointer(rebasing: reader.buffer[0..<n]))
          out?.pointee = UnsafeRawPointer(reader.buffer.baseAddress)
          return la_ssize_t(n)
        } catch {
          reader.sourceError = error
          rehost_archive_set_error(a, -1, "\(error)")
          return -1
        }
      }, nil)
    if result != ARCHIVE_OK { try fail("open") }
  }

  deinit {
    archive_read_free(archive)
    buffer.deallocate()
  }

  /// The next entry (borrowed: valid until the next call), or nil at the end.
  public func next() throws -> ArchiveEntry? {
    var entry: OpaquePointer?
    let result = archive_read_next_header(archive, &entry)
    if result == ARCHIVE_EOF {
      endOfArchiveOffset = archive_read_header_position(archive)
      return nil
    }
    if result != ARCHIVE_OK && result != ARCHIVE_WARN || sourceError != nil { try fail("read an entry header") }
    return ArchiveEntry(borrowing: entry!)
  }

  /// After ``next()`` returned nil: reads what is left of the source and checks that the
  /// stream ends exactly with the end-of-archive marker, two zero blocks, and nothing
  /// after them.
  public func finishStream() throws {
    guard let end = endOfArchiveOffset else { preconditionFailure("finishStream before the end of the archive") }
    while true {
      let n = try source.read(into: buffer)
      if n == 0 { break }
      passed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
      if bytesRead > end + Int64(Self.endMarker) { break }
    }
    guard bytesRead == end + Int64(Self.endMarker), tail.count == Self.endMarker, tail.allSatisfy({ $0 == 0 }) else {
      throw RehostError(.corrupt, bytesRead > end + Int64(Self.endMarker)
                          ? "data follows the end-of-archive marker of the archive's tar stream"
                          : "the archive's tar stream does not end with its end-of-archive marker (two zero blocks)",
                        hint: "the archive was not written by rehost as sealed; do not trust it")
    }
  }

  static let endMarker = 1024

  fileprivate func passed(_ bytes: UnsafeRawBufferPointer) {
    bytesRead += Int64(bytes.count)
    if bytes.count >= Self.endMarker {
      tail = Array(bytes.suffix(Self.endMarker))
    } else {
      tail = Array((tail + bytes).suffix(Self.endMarker))
    }
  }

  /// Whether the entry just read came in a POSIX ustar or pax header (not GNU, not v7).
  public var entryIsPOSIX: Bool {
    // ARCHIVE_FORMAT_TAR_USTAR and ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE (macros Swift cannot import).
    let format = archive_format(archive)
    return format == 0x30001 || format == 0x30002
  }

  /// Reads the current entry's content; 0 at its end.
  public func readData(into out: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = archive_read_data(archive, out.baseAddress, out.count)
    if n < 0 || sourceError != nil { try fail("read entry data") }
    return n
  }

  private func fail(_ what: String) throws -> Never {
    if let sourceError { throw sourceError }
    throw RehostError(.corrupt, "the archive's tar stream is malformed (\(what)): \(archiveMessage(archive))",
                      hint: "the content authenticated, so it was written this way; report it with the rehost version")
  }
}
