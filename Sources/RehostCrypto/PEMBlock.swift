import COpenSSL
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

  /// The DER a block holds, decoded here when the block is BEGIN, lines of base64, END
  /// (no headers), and handed to `body`; both buffers are wiped before they are freed, as
  /// they may hold a private key. nil, without calling `body`, for anything else (then
  /// OpenSSL's PEM reader, with its errors, has the block): this skips its BIO and line
  /// buffers, a sixth of a key check's time.
  static func withDER<T>(_ block: UnsafeRawBufferPointer, _ body: (UnsafeMutablePointer<UInt8>, Int) -> T?) -> T?? {
    guard let firstEnd = block.firstIndex(of: 0x0A) else { return nil }
    var lastStart = block.count - 1  // the END line's start: after the last LF but the final one
    while lastStart > 0 && block[lastStart - 1] != 0x0A { lastStart -= 1 }
    guard lastStart > firstEnd else { return nil }
    let lines = UnsafeRawBufferPointer(rebasing: block[(firstEnd + 1)..<lastStart])
    // A colon means "Name: value", a header line.
    guard let base = lines.baseAddress, memchr(base, 0x3A, lines.count) == nil else { return nil }
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: lines.count) { base64 -> T?? in
      defer { OPENSSL_cleanse(base64.baseAddress, base64.count) }
      // The lines without their ends and the blanks around them (blanks inside a line
      // are left for EVP_DecodeBlock to refuse).
      func isBlank(_ c: UInt8) -> Bool { c == 0x0D || c == 0x20 || c == 0x09 }
      var count = 0, start = 0
      while start < lines.count {
        let end = memchr(base + start, 0x0A, lines.count - start).map { base.distance(to: UnsafeRawPointer($0)) } ?? lines.count
        var first = start, last = end
        while first < last && isBlank(lines[first]) { first += 1 }
        while last > first && isBlank(lines[last - 1]) { last -= 1 }
        memcpy(base64.baseAddress! + count, base + first, last - first)
        count += last - first
        start = end + 1
      }
      guard count > 0, count % 4 == 0 else { return nil }
      let padding = base64[count - 1] != 0x3D ? 0 : base64[count - 2] != 0x3D ? 1 : 2
      guard memchr(base64.baseAddress!, 0x3D, count - padding) == nil else { return nil }  // '=' only at the end
      return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count / 4 * 3) { der -> T?? in
        defer { OPENSSL_cleanse(der.baseAddress, der.count) }
        guard EVP_DecodeBlock(der.baseAddress, base64.baseAddress, Int32(count)) == Int32(der.count) else { return nil }
        return .some(body(der.baseAddress!, der.count - padding))
      }
    }
  }

  private static func starts(_ line: UnsafeBufferPointer<UInt8>, with prefix: StaticString) -> Bool {
    line.count >= prefix.utf8CodeUnitCount && memcmp(line.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
  }

  private static func ends(_ line: UnsafeBufferPointer<UInt8>, with suffix: StaticString) -> Bool {
    line.count >= suffix.utf8CodeUnitCount
      && memcmp(line.baseAddress! + line.count - suffix.utf8CodeUnitCount, suffix.utf8Start, suffix.utf8CodeUnitCount) == 0
  }
}
