import Foundation
import RehostBase
import Yams

/// Reads YAML nodes strictly (inventories, runbooks): every error names the file and
/// line, unknown keys are errors, and a key given twice is an error.
public struct YAMLReader: Sendable {
  public let file: String
  /// How messages name the file: "inventory /etc/rehost/ca.yaml".
  public let label: String
  /// Where to read about the format.
  public let help: String

  public init(file: String, label: String, help: String) {
    self.file = file
    self.label = label
    self.help = help
  }

  public func root(_ text: String) throws -> Node {
    do {
      guard let node = try Yams.compose(yaml: text) else { throw error(nil, "it is empty") }
      return node
    } catch let error as RehostError {
      throw error
    } catch {
      // Yams describes its errors as "LINE:COLUMN: error: ...", then the line and a caret.
      let text = "\(error)"
      let parts = text.split(separator: ":", maxSplits: 2)
      if parts.count == 3, let line = Int(parts[0]), Int(parts[1]) != nil {
        let why = parts[2].trimmingCharacters(in: .whitespaces)
        throw RehostError(.usage, "\(label):\(line): this is not valid YAML (column \(parts[1])): \(why.hasPrefix("error: ") ? String(why.dropFirst(7)) : why)", hint: help)
      }
      // Its duplicate-key errors end "in line LINE, column COLUMN".
      if let range = text.range(of: #"in line ([0-9]+), column [0-9]+"#, options: [.regularExpression, .backwards]),
         let line = Int(text[range].split(separator: " ")[2].dropLast()) {
        let why = text[..<(text.firstIndex(of: "\n") ?? text.endIndex)]
        throw RehostError(.usage, "\(label):\(line): this is not valid YAML: \(why)", hint: help)
      }
      throw RehostError(.usage, "\(label) is not valid YAML: \(text)", hint: help)
    }
  }

  public func error(_ node: Node?, _ what: String) -> RehostError {
    RehostError(.usage, "\(label)\(node?.mark.map { ":\($0.line)" } ?? ""): \(what)", hint: help)
  }

  /// A mapping whose keys are all among `keys`, each once.
  public func mapping(_ node: Node, _ what: String, keys: Set<String>) throws -> [String: Node] {
    guard let mapping = node.mapping else { throw error(node, "\(what) must be a mapping (key: value)") }
    var out: [String: Node] = [:]
    for (key, value) in mapping {
      guard let name = key.string, keys.contains(name) else {
        throw error(key, "unknown key `\(key.string ?? "?")` in \(what) (known: \(keys.sorted().joined(separator: ", ")))")
      }
      guard out.updateValue(value, forKey: name) == nil else { throw error(key, "`\(name)` is given twice in \(what)") }
    }
    return out
  }

  public func sequence(_ node: Node, _ what: String) throws -> [Node] {
    guard let sequence = node.sequence else { throw error(node, "`\(what)` must be a list") }
    return Array(sequence)
  }

  public func string(_ node: Node, _ what: String) throws -> String {
    guard case .scalar = node, let value = node.string, !value.isEmpty else { throw error(node, "`\(what)` must be a non-empty string") }
    return value
  }

  public func strings(_ node: Node, _ what: String) throws -> [String] {
    try sequence(node, what).map { try string($0, what) }
  }

  public func bool(_ node: Node, _ what: String) throws -> Bool {
    guard case .scalar = node, let value = node.bool else { throw error(node, "`\(what)` is true or false") }
    return value
  }

  public func int(_ node: Node, _ what: String, in range: ClosedRange<Int>) throws -> Int {
    guard case .scalar = node, let value = node.int, range.contains(value) else {
      throw error(node, "`\(what)` must be a whole number from \(range.lowerBound) to \(range.upperBound)")
    }
    return value
  }
}
