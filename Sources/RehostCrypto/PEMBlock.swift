import Glibc

/// One `-----BEGIN LABEL-----` ... `-----END LABEL-----` block of a PEM text.
/// Text outside blocks (comments, explanations) is ignored, as PEM allows.
struct PEMBlock {
  /// 1-based line of the BEGIN line.
  let line: Int
  let label: String
  /// The block, BEGIN and END lines included, LF line ends.
  let text: String

  /// The blocks of `text`, found on its bytes (a check reads thousands of files: line by
  /// line as Swift strings, this was a tenth of its time). A CR before LF is dropped.
  static func split(_ text: String) -> [PEMBlock] {
    var blocks: [PEMBlock] = []
    var text = text
    text.withUTF8 { bytes in
      var block: [UInt8] = []
      var labelRange = 0..<0
      var start = 0, lineNumber = 0, i = 0
      while i <= bytes.count {
        var j = i
        while j < bytes.count && bytes[j] != 0x0A { j += 1 }
        lineNumber += 1
        var end = j
        if end > i && bytes[end - 1] == 0x0D { end -= 1 }
        let line = UnsafeBufferPointer(rebasing: bytes[i..<end])
        if block.isEmpty {
          if starts(line, with: "-----BEGIN "), line.count >= 16, ends(line, with: "-----") {
            block.append(contentsOf: line)
            block.append(0x0A)
            labelRange = 11..<(line.count - 5)
            start = lineNumber
          }
        } else {
          block.append(contentsOf: line)
          block.append(0x0A)
          if starts(line, with: "-----END ") {
            blocks.append(PEMBlock(line: start, label: String(decoding: block[labelRange], as: UTF8.self),
                                   text: String(decoding: block, as: UTF8.self)))
            block.removeAll(keepingCapacity: true)
          }
        }
        i = j + 1
      }
    }
    return blocks
  }

  private static func starts(_ line: UnsafeBufferPointer<UInt8>, with prefix: StaticString) -> Bool {
    line.count >= prefix.utf8CodeUnitCount && memcmp(line.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
  }

  private static func ends(_ line: UnsafeBufferPointer<UInt8>, with suffix: StaticString) -> Bool {
    line.count >= suffix.utf8CodeUnitCount
      && memcmp(line.baseAddress! + line.count - suffix.utf8CodeUnitCount, suffix.utf8Start, suffix.utf8CodeUnitCount) == 0
  }
}
