import Foundation
import RehostBase
import RehostDatabases
import RehostFormat
import RehostServices
import RehostStorage
import Yams

/// A nightly backup's configuration (docs/BACKUP.md, "The config file"), read strictly:
/// unknown keys, keys given twice, wrong types are errors naming file:line. Relative
/// paths are taken from the config file's directory.
public struct BackupConfig: Sendable {
  public static let version = 1

  public let file: String
  public let repository: String
  /// What to back up: an inventory, sources, or both.
  public let inventory: String?
  public let root: String?
  public let sources: [String]
  public let excludes: [String]
  public let label: String
  /// Who can open the backups: public keys only.
  public let recipients: [String]
  public let custodians: (threshold: Int, keys: [String])?
  public let signingKey: String
  public let signingKeyPassphraseFile: String?
  public let retention: Retention
  public let metricsFile: String?
  /// Where each run's backups are copied after it: rclone remotes (`name:path`).
  public let offsite: [String]
  public let rcloneConfig: String?

  static let help = "see docs/BACKUP.md for the config file"

  public static func load(_ file: String) throws -> BackupConfig {
    try BackupConfig(text: try InputFile.read(file, what: "backup config", limit: 1 << 20), file: file)
  }

  public init(text bytes: [UInt8], file: String) throws {
    self.file = file
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw RehostError(.usage, "the backup config \(file) is not UTF-8 text", hint: Self.help)
    }
    let base = URL(fileURLWithPath: file).deletingLastPathComponent()
    func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path }
    let reader = YAMLReader(file: file, label: "backup config \(file)", help: Self.help)
    let root = try reader.root(text)
    let top = try reader.mapping(root, "the backup config", keys: [
      "backup", "repository", "inventory", "root", "sources", "exclude", "label", "recipients", "custodians",
      "signing-key", "signing-key-passphrase-file", "retention", "metrics-file", "offsite",
    ])
    guard let version = top["backup"].flatMap({ $0.int }), version == Self.version else {
      throw reader.error(top["backup"] ?? root, "the first key must be `backup: \(Self.version)` (the schema version)")
    }
    func required(_ key: String) throws -> Node {
      guard let node = top[key] else { throw reader.error(root, "the config has no `\(key):`") }
      return node
    }
    repository = absolute(try reader.string(try required("repository"), "repository"))
    inventory = try top["inventory"].map { absolute(try reader.string($0, "inventory")) }
    self.root = try top["root"].map { absolute(try reader.string($0, "root")) }
    if self.root != nil && inventory == nil { throw reader.error(top["root"], "`root:` is the base of the inventory's paths: give `inventory:` too") }
    sources = try top["sources"].map { node in
      try reader.strings(node, "sources").map { DatabaseLocation.looksLikeDatabase($0) ? $0 : absolute($0) }
    } ?? []
    if inventory == nil && sources.isEmpty { throw reader.error(root, "name what to back up: `inventory:` or `sources:`") }
    excludes = try top["exclude"].map { try reader.strings($0, "exclude") } ?? []
    label = try top["label"].map { node in
      let text = try reader.string(node, "label")
      guard SealFields.isValidValue(text) else { throw reader.error(node, "`label:` must be one line of printable text without leading or trailing spaces") }
      return text
    } ?? ""
    recipients = try top["recipients"].map { try reader.strings($0, "recipients").map(absolute) } ?? []
    custodians = try top["custodians"].map { node in
      let item = try reader.mapping(node, "`custodians`", keys: ["threshold", "keys"])
      guard let keysNode = item["keys"], let thresholdNode = item["threshold"] else {
        throw reader.error(node, "`custodians:` takes `threshold: K` and `keys: [A.pub, ...]`")
      }
      let keys = try reader.strings(keysNode, "keys").map(absolute)
      let threshold = try reader.int(thresholdNode, "threshold", in: 1...max(1, keys.count))
      return (threshold, keys)
    }
    if recipients.isEmpty && custodians == nil {
      throw reader.error(root, "name who can open the backups: `recipients:` (public keys) or `custodians:`")
    }
    signingKey = absolute(try reader.string(try required("signing-key"), "signing-key"))
    signingKeyPassphraseFile = try top["signing-key-passphrase-file"].map { absolute(try reader.string($0, "signing-key-passphrase-file")) }
    metricsFile = try top["metrics-file"].map { absolute(try reader.string($0, "metrics-file")) }
    if let node = top["offsite"] {
      let item = try reader.mapping(node, "`offsite`", keys: ["rclone-config", "remotes"])
      guard let remotesNode = item["remotes"] else { throw reader.error(node, "`offsite:` takes `remotes: [NAME:PATH, ...]` (and `rclone-config: FILE`)") }
      offsite = try reader.strings(remotesNode, "remotes")
      if let bad = offsite.first(where: { !$0.contains(":") }) {
        throw reader.error(remotesNode, "`\(Rclone.shown(bad))` is not an rclone remote: write NAME:PATH, NAME being a remote of the rclone config")
      }
      if offsite.isEmpty { throw reader.error(remotesNode, "`remotes:` names no remote") }
      rcloneConfig = try item["rclone-config"].map { absolute(try reader.string($0, "rclone-config")) }
    } else {
      (offsite, rcloneConfig) = ([], nil)
    }

    var retention = Retention()
    if let node = top["retention"] {
      let rules = try reader.mapping(node, "`retention`", keys: ["keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly", "keep-within"])
      func count(_ key: String) throws -> Int? { try rules[key].map { try reader.int($0, key, in: 1...1_000_000) } }
      (retention.last, retention.hourly, retention.daily) = (try count("keep-last"), try count("keep-hourly"), try count("keep-daily"))
      (retention.weekly, retention.monthly, retention.yearly) = (try count("keep-weekly"), try count("keep-monthly"), try count("keep-yearly"))
      retention.within = try rules["keep-within"].map { node in
        guard let within = Retention.Within(try reader.string(node, "keep-within")) else {
          throw reader.error(node, "`keep-within:` is a duration such as 2d, 36h or 1y6m (years, months, days, hours)")
        }
        return within
      }
      if retention.isEmpty { throw reader.error(node, "`retention:` names no rule (keep-last, keep-daily, ...)") }
    }
    self.retention = retention
  }
}

