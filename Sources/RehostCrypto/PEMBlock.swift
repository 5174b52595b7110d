/// One `-----BEGIN LABEL-----` ... `-----END LABEL-----` block of a PEM text.
/// Text outside blocks (comments, explanations) is ignored, as PEM allows.
struct PEMBlock {
  /// 1-based line of the BEGIN line.
  let line: Int
  let label: String
  /// The block, BEGIN and END lines included, LF line ends.
  let text: String

  static func split(_ text: String) -> [PEMBlock] {
    var blocks: [PEMBlock] = []
    var current: [Substring] = []
    var start = 0
    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
      if current.isEmpty {
        if line.hasPrefix("-----BEGIN ") && line.hasSuffix("-----") {
          current = [line]
          start = index + 1
        }
      } else {
        current.append(line)
        if line.hasPrefix("-----END ") {
          blocks.append(PEMBlock(line: start, label: String(current[0].dropFirst(11).dropLast(5)),
                                 text: current.joined(separator: "\n") + "\n"))
          current = []
        }
      }
    }
    return blocks
  }
}
