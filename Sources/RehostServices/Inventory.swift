import Foundation
import RehostBase
import RehostDatabases
import RehostFormat
import RehostStorage
import Yams

/// What a CA host's snapshot must contain, read from an inventory file (YAML; the schema
/// is in manifests/README.md): the sources to capture, the paths that must exist, and
/// which of them are secret key material.
///
/// ``check()`` runs before a snapshot writes anything: a required item that is missing
/// stops it, naming the item.
public struct Inventory: Sendable {
  /// A path that must exist when the snapshot starts.
  public struct RequiredItem: Sendable {
    /// As written in the inventory (a path or a glob).
    public let pattern: String
    /// The pattern made absolute.
    public let path: String
    public let secret: Bool
    public let description: String?
  }

  public let file: String
  public let label: String?
  public let sources: [String]
  public let databases: [DatabaseLocation]
  public let excludes: [String]
  public let required: [RequiredItem]

  public static let version = 1

  /// Reads `file`; relative paths are taken from `root` (default: the file's directory).
  public init(file: String, root: String? = nil) throws {
    try self.init(text: try InputFile.read(file, what: "inventory", limit: 1 << 20), file: file, root: root)
  }

  /// Parses an inventory's text; `file` names it in messages and, with `root`, anchors
  /// relative paths. Nothing is read from disk (the fuzz target drives this).
  public init(text bytes: [UInt8], file: String, root: String? = nil) throws {
    self.file = file
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw RehostError(.usage, "the inventory \(file) is not UTF-8 text", hint: "see manifests/README.md for the inventory format")
    }
    let base = root ?? URL(fileURLWithPath: file).deletingLastPathComponent().path
    func absolute(_ path: String) -> String {
      path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
    }
    let reader = YAMLReader(file: file, label: "inventory \(file)", help: "see manifests/README.md for the inventory format")
    let top = try reader.mapping(try reader.root(text), "the inventory", keys: ["inventory", "label", "sources", "exclude", "required"])
    guard let version = top["inventory"].flatMap({ $0.int }), version == Inventory.version else {
      throw reader.error(top["inventory"], "the first key must be `inventory: \(Inventory.version)` (the schema version)")
    }
    label = try top["label"].map { node in
      let text = try reader.string(node, "label")
      guard SealFields.isValidValue(text) else {
        throw reader.error(node, "`label:` must be one line of printable text without leading or trailing spaces")
      }
      return text
    }
    excludes = try top["exclude"].map { try reader.strings($0, "exclude") } ?? []

    var sources: [String] = [], databases: [DatabaseLocation] = []
    guard let sourceList = top["sources"] else { throw reader.error(nil, "it lists no sources") }
    for node in try reader.sequence(sourceList, "sources") {
      let item = try reader.mapping(node, "a source", keys: ["path", "database", "name", "roles"])
      switch (item["path"], item["database"]) {
      case (let path?, nil):
        if let roles = item["roles"] { throw reader.error(roles, "`roles:` goes with a `database:` source") }
        sources.append(absolute(try reader.string(path, "path")))
      case (nil, let database?):
        var text = try reader.string(database, "database")
        if let name = item["name"] { text = try reader.string(name, "name") + "=" + text }
        var location = try DatabaseLocation(parsing: text)
        if location.engine == .sqlite { location = try DatabaseLocation(parsing: location.name + "=sqlite:" + absolute(location.argument)) }
        if let roles = item["roles"] {
          guard let value = roles.bool else { throw reader.error(roles, "`roles:` is true or false") }
          guard !value || location.engine != .sqlite else { throw reader.error(roles, "SQLite has no roles: leave out `roles:`") }
          location.roles = value
        }
        databases.append(location)
      default:
        throw reader.error(node, "a source has either `path:` or `database:`")
      }
    }
    self.sources = sources
    self.databases = databases

    required = try top["required"].map { list in
      try reader.sequence(list, "required").map { node in
        if let path = node.string, case .scalar = node {
          return RequiredItem(pattern: path, path: absolute(path), secret: false, description: nil)
        }
        let item = try reader.mapping(node, "a required item", keys: ["path", "secret", "description"])
        guard let pathNode = item["path"] else { throw reader.error(node, "a required item needs `path:`") }
        let path = try reader.string(pathNode, "path")
        let secret = try item["secret"].map { node -> Bool in
          guard let value = node.bool else { throw reader.error(node, "`secret:` is true or false") }
          return value
        } ?? false
        return RequiredItem(pattern: path, path: absolute(path), secret: secret,
                            description: try item["description"].map { try reader.string($0, "description") })
      }
    } ?? []
  }

  /// Checks the host against the inventory: every source and required item exists, and
  /// every required item lies inside a source. Throws naming every missing item;
  /// returns warnings (secret key material readable by group or others).
  public func check() throws -> [String] {
    var missing: [String] = []
    var warnings: [String] = []
    missing += sources.filter { !exists($0) }.map { "source \($0)" }
    missing += databases.filter { $0.engine == .sqlite && !exists($0.argument) }.map { "database \($0.name) (\($0.argument))" }
    for item in required {
      let matches = expand(item.path)
      if matches.isEmpty { missing.append(item.description.map { "\(item.pattern) (\($0))" } ?? item.pattern) }
      for path in matches {
        guard sources.contains(where: { path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
          throw RehostError(.usage, "the inventory requires \(path), but none of its sources captures it",
                            hint: "add a source that contains it to \(file)")
        }
        var st = stat()
        if item.secret, lstat(path, &st) == 0, st.st_mode & 0o077 != 0 {
          warnings.append("\(path) is secret key material but readable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8))); chmod go-rwx it")
        }
      }
    }
    guard missing.isEmpty else {
      throw RehostError(.refused, "this host lacks what the inventory requires: " + missing.map { "\($0) is missing" }.joined(separator: "; "),
                        hint: "nothing was written; restore the missing items, or correct \(file)")
    }
    return warnings
  }

  /// Secret paths that exist now (recorded in the snapshot's manifest).
  public var secretPaths: [String] {
    required.filter(\.secret).flatMap { expand($0.path) }
  }

  private func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
  }

  /// A glob's matches (a plain path: itself, if it exists).
  private func expand(_ pattern: String) -> [String] {
    guard pattern.contains(where: { "*?[".contains($0) }) else { return exists(pattern) ? [pattern] : [] }
    var result = glob_t()
    defer { globfree(&result) }
    guard glob(pattern, 0, nil, &result) == 0 else { return [] }
    return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }
  }
}
