/// Splits a byte source into lines (without the newline), refusing lines over `maxLength`.
public final class LineReader {
  private let source: ByteSource
  private let maxLength: Int
  private var buffer = [UInt8](repeating: 0, count: 1 << 16)
  private var start = 0, end = 0
  private var ended = false

  /// - Parameter what: what the lines are, for the error a line too long gets.
  public init(source: ByteSource, maxLength: Int = 1 << 20, what: String = "a manifest line") {
    self.source = source
    self.maxLength = maxLength
    self.what = what
  }

  private let what: String

  private func tooLong() -> RehostError {
    RehostError(.corrupt, "a line longer than \(maxLength) bytes where \(what) was expected")
  }

  /// The next line, or nil at the end. A last line without a newline is returned too.
  /// Bytes that are not UTF-8 are replaced (U+FFFD): use ``nextBytes()`` to compare.
  public func next() throws -> String? {
    try nextBytes().map { String(decoding: $0, as: UTF8.self) }
  }

  /// Whether the last line returned ended with a newline.
  public private(set) var lastLineEnded = true

  /// The next line's bytes, without its newline, or nil at the end.
  public func nextBytes() throws -> [UInt8]? {
    var line: [UInt8] = []
    while true {
      if start == end {
        if ended {
          lastLineEnded = false
          return line.isEmpty ? nil : line
        }
        end = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        start = 0
        if end == 0 { ended = true; continue }
      }
      if let newline = buffer[start..<end].firstIndex(of: 0x0a) {
        line.append(contentsOf: buffer[start..<newline])
        start = newline + 1
        lastLineEnded = true
        if line.count > maxLength { throw tooLong() }
        return line
      }
      line.append(contentsOf: buffer[start..<end])
      start = end
      if line.count > maxLength { throw tooLong() }
    }
  }
}
