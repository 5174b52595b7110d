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
    return f
  }

  /// Reads the facts back from a parsed statement.
  public init(fields f: SealFields) throws {
    func need(_ name: String) throws -> String {
      guard let v = f.value(name) else {
        throw RehostError(.seal, "the seal statement lacks '\(name):'", hint: "the seal was damaged or edited; use the original")
      }
      return v
    }
    func number<T: FixedWidthInteger>(_ name: String) throws -> T {
      guard let n = T(try need(name)), n >= 0 else {
        throw RehostError(.seal, "the seal statement's '\(name):' is not a number", hint: "the seal was damaged or edited")
      }
      return n
    }
    archiveName = try need("Archive")
    archiveSHA256 = try need("Archive-SHA256")
    archiveSize = try number("Archive-Size")
    manifestSHA256 = try need("Manifest-SHA256")
    entries = try number("Entries")
    contentBytes = try number("Content-Bytes")
    recipients = f.values("Recipient")
    label = f.value("Label") ?? ""
    sources = f.values("Source")
    host = try need("Host")
    created = try need("Created")
    sealer = try need("Sealer")
    tool = try need("Tool")
  }
}
