/// A path inside an archive: `/`-separated bytes, relative to the restore directory,
/// stored and restored byte for byte (Linux file names need not be UTF-8).
///
/// Comparison and hashing are by bytes. (Swift's `String` compares by Unicode canonical
/// equivalence, so two different file names, one precomposed and one decomposed, would
/// be "equal" as strings.)
public struct ArchivePath: Hashable, Sendable, Comparable, CustomStringConvertible {
  public let bytes: [UInt8]

  public init(bytes: [UInt8]) { self.bytes = bytes }
  public init<S: Sequence>(bytes: S) where S.Element == UInt8 { self.bytes = Array(bytes) }
  public init(_ string: String) { bytes = Array(string.utf8) }

  /// The path as text when its bytes are valid UTF-8.
  public var string: String? { String(validating: bytes, as: UTF8.self) }

  /// For messages: the text, with control characters, backslashes and bytes that are not
  /// UTF-8 written as escapes (``TextEscape``), so a name can never forge a line of output.
  public var description: String { TextEscape.escape(bytes) }

  public var isEmpty: Bool { bytes.isEmpty }

  /// The `/`-separated components, empty ones included (a clean path has none).
  public var components: [ArraySlice<UInt8>] {
    bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
  }

  /// Everything before the last `/`; nil for a one-component path.
  public var parent: ArchivePath? {
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return nil }
    return ArchivePath(bytes: bytes[..<slash])
  }

  /// The last component.
  public var lastComponent: ArraySlice<UInt8> {
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return bytes[...] }
    return bytes[(slash + 1)...]
  }

  public func appending<S: Sequence>(component: S) -> ArchivePath where S.Element == UInt8 {
    ArchivePath(bytes: bytes.isEmpty ? Array(component) : bytes + [UInt8(ascii: "/")] + component)
  }

  /// Whether `self` is `other` or lies below it.
  public func isWithin(_ other: ArchivePath) -> Bool {
    bytes == other.bytes || (bytes.count > other.bytes.count && bytes.starts(with: other.bytes)
      && bytes[other.bytes.count] == UInt8(ascii: "/"))
  }

  public static func < (a: ArchivePath, b: ArchivePath) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

/// The escaping rehost uses wherever a name from a file system is printed or put in a
/// seal: valid UTF-8 text stays as it is, except that a backslash becomes `\\` and every
/// byte of what is not printable text (below 0x20, 0x7f, the C1 controls U+0080–U+009F,
/// the line and paragraph separators, bidirectional and zero-width formatting marks, and
/// bytes that are not valid UTF-8) becomes `\xHH`; a space at the start or the end
/// becomes `\x20`. The result is one line of text that reads as it is stored, so a name
/// cannot forge or reorder what a person reads; docs/FORMAT.md specifies it.
public enum TextEscape {
  public static func escape<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    // Nearly every name is printable ASCII with no backslash and no space at either end:
    // it stays as it is (this runs for every entry of a snapshot).
    if let plain = bytes.withContiguousStorageIfAvailable({ isPlainASCII($0) ? String(decoding: $0, as: UTF8.self) : nil }) {
      if let plain { return plain }
    }
    let input = Array(bytes)
    var out: [UInt8] = []
    out.reserveCapacity(input.count + 16)
    func hex(_ b: UInt8) { out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]] }
    var i = 0
    while i < input.count {
      let b = input[i]
      let length = utf8SequenceLength(input, at: i)
      if length == 0 {
        hex(b)
        i += 1
        continue
      }
      if isHidden(scalar(input, at: i, length: length)) {
        input[i..<(i + length)].forEach(hex)
      } else if b == UInt8(ascii: "\\") {
        out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
      } else if b == 0x20 && (i == 0 || i == input.count - 1) {
        hex(b)
      } else {
        out += input[i..<(i + length)]
      }
      i += length
    }
    return String(decoding: out, as: UTF8.self)
  }

  private static let hexDigits = Array("0123456789abcdef".utf8)

  /// Printable ASCII (0x20-0x7e) without a backslash, and no space first or last.
  private static func isPlainASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    if bytes.first == 0x20 || bytes.last == 0x20 { return false }
    for b in bytes where b < 0x20 || b > 0x7e || b == UInt8(ascii: "\\") { return false }
    return true
  }

  /// The code point of the valid UTF-8 sequence of `length` bytes at `i`.
  private static func scalar(_ s: [UInt8], at i: Int, length: Int) -> UInt32 {
    let b0 = UInt32(s[i])
    switch length {
    case 1: return b0
    case 2: return (b0 & 0x1f) << 6 | UInt32(s[i + 1] & 0x3f)
    case 3: return (b0 & 0x0f) << 12 | UInt32(s[i + 1] & 0x3f) << 6 | UInt32(s[i + 2] & 0x3f)
    default: return (b0 & 0x07) << 18 | UInt32(s[i + 1] & 0x3f) << 12 | UInt32(s[i + 2] & 0x3f) << 6 | UInt32(s[i + 3] & 0x3f)
    }
  }

  /// Code points that do not print as themselves: controls, separators, and the marks
  /// that reorder or hide text (U+200B–U+200F, U+202A–U+202E, U+2060–U+2069, U+FEFF).
  public static func isHidden(_ scalar: UInt32) -> Bool {
    scalar < 0x20 || scalar == 0x7f || (0x80..<0xa0).contains(scalar) || (0x200b...0x200f).contains(scalar)
      || scalar == 0x2028 || scalar == 0x2029 || (0x202a...0x202e).contains(scalar) || (0x2060...0x2069).contains(scalar)
      || scalar == 0xfeff
  }

  /// The length of the valid UTF-8 sequence starting at `i`, or 0 when there is none
  /// (overlong forms, surrogates and code points above U+10FFFF are not valid).
  static func utf8SequenceLength(_ s: [UInt8], at i: Int) -> Int {
    let b0 = s[i]
    if b0 < 0x80 { return 1 }
    func cont(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xbf) -> Bool { i + k < s.count && range.contains(s[i + k]) }
    switch b0 {
    case 0xc2...0xdf: return cont(1) ? 2 : 0
    case 0xe0: return cont(1, 0xa0...0xbf) && cont(2) ? 3 : 0
    case 0xe1...0xec, 0xee...0xef: return cont(1) && cont(2) ? 3 : 0
    case 0xed: return cont(1, 0x80...0x9f) && cont(2) ? 3 : 0
    case 0xf0: return cont(1, 0x90...0xbf) && cont(2) && cont(3) ? 4 : 0
    case 0xf1...0xf3: return cont(1) && cont(2) && cont(3) ? 4 : 0
    case 0xf4: return cont(1, 0x80...0x8f) && cont(2) && cont(3) ? 4 : 0
    default: return 0
    }
  }
}
