import RehostBase

/// The typed content of a seal statement, in the order it is printed.
public struct SealFacts: Equatable, Sendable {
  public var archiveName: String
  public var archiveSHA256: String
  public var archiveSize: Int64
  public var manifestSHA256: String
  public var entries: Int
  public var contentBytes: Int64
  /// `x25519 <fingerprint>` or `scrypt passphrase`, one per recipient.
  public var recipients: [String]
  public var label: String
  public var sources: [String]
  public var host: String
  public var created: String
  /// Fingerprint of the Ed25519 key that sealed the archive.
  public var sealer: String
  public var tool: String
  /// Set for a backup in a repository: which one, its place in it, and the seal before it.
  public var repository: RepositoryLink?

  public init(archiveName: String, archiveSHA256: String, archiveSize: Int64, manifestSHA256: String, entries: Int,
              contentBytes: Int64, recipients: [String], label: String, sources: [String], host: String,
              created: String, sealer: String, tool: String) {
    self.archiveName = archiveName
    self.archiveSHA256 = archiveSHA256
    self.archiveSize = archiveSize
    self.manifestSHA256 = manifestSHA256
    self.entries = entries
    self.contentBytes = contentBytes
    self.recipients = recipients
    self.label = label
    self.sources = sources
    self.host = host
    self.created = created
    self.sealer = sealer
    self.tool = tool
  }

  /// The statement's lines. Empty optional values are left out.
  public func fields() -> SealFields {
    var f = SealFields()
    f.append("Format", Seal.format)
    f.append("Archive", archiveName)
    f.append("Archive-SHA256", archiveSHA256)
    f.append("Archive-Size", String(archiveSize))
    f.append("Manifest-SHA256", manifestSHA256)
    f.append("Entries", String(entries))
    f.append("Content-Bytes", String(contentBytes))
    for r in recipients { f.append("Recipient", r) }
    if !label.isEmpty { f.append("Label", label) }
    for s in sources { f.append("Source", s) }
    f.append("Host", host)
    f.append("Created", created)
    f.append("Sealer", sealer)
    f.append("Tool", tool)
    if let repository {
      f.append("Repository", repository.id)
      f.append("Sequence", String(repository.sequence))
      if let previous = repository.previousSealSHA256 { f.append("Previous-Seal-SHA256", previous) }
    }
    return f
  }

  /// Reads the facts back from a parsed statement, strictly: each single field at most
  /// once, hashes as 64 lower-case hex digits, numbers in canonical decimal, the time in
  /// RFC 3339 form (so the auditor's `sed` reads exactly what rehost reads).
  public init(fields f: SealFields) throws {
    func bad(_ why: String) -> RehostError {
      RehostError(.seal, "the seal statement \(why)", hint: "the seal was damaged or edited; use the original")
    }
    for name in Self.singleFields where f.values(name).count > 1 { throw bad("has '\(name):' twice") }
    func need(_ name: String) throws -> String {
      guard let v = f.value(name) else { throw bad("lacks '\(name):'") }
      return v
    }
    func hex(_ name: String) throws -> String {
      let v = try need(name)
      guard SealFields.isHexDigest(v) else { throw bad("has a '\(name):' that is not 64 lower-case hex digits") }
      return v
    }
    func number<T: FixedWidthInteger>(_ name: String) throws -> T {
      let text = try need(name)
      guard let n = T(text), n >= 0, String(n) == text else { throw bad("has a '\(name):' that is not a number in canonical form") }
      return n
    }
    archiveName = try need("Archive")
    archiveSHA256 = try hex("Archive-SHA256")
    archiveSize = try number("Archive-Size")
    manifestSHA256 = try hex("Manifest-SHA256")
    entries = try number("Entries")
    contentBytes = try number("Content-Bytes")
    recipients = f.values("Recipient")
    label = f.value("Label") ?? ""
    sources = f.values("Source")
    host = try need("Host")
    created = try need("Created")
    guard Timestamp.isValid(created) else { throw bad("has a 'Created:' that is not YYYY-MM-DDTHH:MM:SSZ") }
    sealer = try hex("Sealer")
    tool = try need("Tool")
    if f.value("Repository") != nil || f.value("Sequence") != nil || f.value("Previous-Seal-SHA256") != nil {
      let id = try need("Repository")
      guard RepositoryLink.isValidID(id) else { throw bad("has a 'Repository:' that is not 32 lower-case hex digits") }
      let sequence: Int = try number("Sequence")
      guard sequence >= 1 else { throw bad("has a 'Sequence:' below 1") }
      let previous = f.value("Previous-Seal-SHA256")
      guard (previous == nil) == (sequence == 1) else {
        throw bad(sequence == 1 ? "of a repository's first backup names a previous seal" : "lacks 'Previous-Seal-SHA256:'")
      }
      if previous != nil { _ = try hex("Previous-Seal-SHA256") }
      repository = RepositoryLink(id: id, sequence: sequence, previousSealSHA256: previous)
    }
  }

  /// Fields a statement holds at most once.
  static let singleFields = ["Format", "Archive", "Archive-SHA256", "Archive-Size", "Manifest-SHA256", "Entries",
                             "Content-Bytes", "Label", "Host", "Created", "Sealer", "Tool", "Repository", "Sequence",
                             "Previous-Seal-SHA256"]

  /// The `Source:` lines a seal carries for a snapshot: each tree's path, then each
  /// database's location (passwords removed), escaped (``TextEscape``).
  public static func sourceLines(_ header: ManifestHeader, databases: [ManifestDatabase]) -> [String] {
    header.sources.map { TextEscape.escape(Array($0.path.utf8)) } + databases.map { TextEscape.escape(Array($0.source.utf8)) }
  }

  /// What differs between the statement and the manifest it describes (Host, Label,
  /// Created, Tool and the sources are in both); empty when they agree.
  public func differences(from header: ManifestHeader, databases: [ManifestDatabase]) -> [String] {
    var out: [String] = []
    func check(_ name: String, _ sealed: [String], _ manifest: [String]) {
      if sealed.map({ Array($0.utf8) }) != manifest.map({ Array($0.utf8) }) {
        out.append("\(name) (seal: \(sealed.joined(separator: ", ")); manifest: \(manifest.joined(separator: ", ")))")
      }
    }
    check("Host", [host], [TextEscape.escape(Array(header.host.utf8))])
    check("Label", [label], [header.label])
    check("Created", [created], [header.created])
    check("Tool", [tool], [header.tool])
    check("Source", sources, Self.sourceLines(header, databases: databases))
    return out
  }
}

/// A backup's place in its repository's chain of seals (docs/BACKUP.md): the repository's
/// id, the backup's sequence number (from 1), and the SHA-256 of the previous backup's
/// seal file (none for the first).
public struct RepositoryLink: Equatable, Sendable {
  public var id: String
  public var sequence: Int
  public var previousSealSHA256: String?

  public init(id: String, sequence: Int, previousSealSHA256: String?) {
    (self.id, self.sequence, self.previousSealSHA256) = (id, sequence, previousSealSHA256)
  }

  /// 32 lower-case hex digits.
  public static func isValidID(_ id: String) -> Bool {
    id.utf8.count == 32 && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
  }
}
