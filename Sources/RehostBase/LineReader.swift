/// Splits a byte source into lines (without the newline), refusing lines over `maxLength`.
public final class LineReader {
  private let source: ByteSource
  private let maxLength: Int
  private var buffer = [UInt8](repeating: 0, count: 1 << 16)
  private var start = 0, end = 0
  private var ended = false

  public init(source: ByteSource, maxLength: Int = 1 << 20) {
    self.source = source
    self.maxLength = maxLength
  }

  /// The next line, or nil at the end. A last line without a newline is returned too.
  public func next() throws -> String? {
    var line: [UInt8] = []
    while true {
      if start == end {
        if ended { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
        end = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        start = 0
        if end == 0 { ended = true; continue }
      }
      if let newline = buffer[start..<end].firstIndex(of: 0x0a) {
        line.append(contentsOf: buffer[start..<newline])
        start = newline + 1
        return String(decoding: line, as: UTF8.self)
      }
      line.append(contentsOf: buffer[start..<end])
      start = end
      if line.count > maxLength {
        throw RehostError(.corrupt, "a line longer than \(maxLength) bytes where a manifest line was expected")
      }
    }
  }
}
