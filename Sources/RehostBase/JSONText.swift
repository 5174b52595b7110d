/// JSON text written one way only (docs/FORMAT.md, "JSON strings"), so that the same
/// value always has the same bytes and lines can be compared and signed as bytes.
public enum JSONText {
  /// A JSON string: `"` and `\` escaped, LF, CR and TAB as `\n` `\r` `\t`, other controls
  /// and 0x7f as `\u00xx` (lower case), everything else as it is.
  public static func string(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20 || scalar.value == 0x7f:
        let digits = Array("0123456789abcdef")
        out += "\\u00" + String(digits[Int(scalar.value >> 4)]) + String(digits[Int(scalar.value & 15)])
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
