import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import RehostStorage

/// A backup repository (docs/BACKUP.md, "The repository"): a directory holding
///
/// - `rehost-repo.json`: what it is (id, when created, who can open its backups, who
///   seals them), written once by `rehost backup init`;
/// - one sealed archive per backup, `<UTC time>-<sequence>.rehost` and its `.seal`;
/// - `chain.jsonl`: the signed, append-only record of every backup and every prune;
/// - `.lock`, held by the run working in it.
public struct Repository: Sendable {
  public static let format = "rehost-repository/1"
  public static let infoName = "rehost-repo.json"
  public static let chainName = "chain.jsonl"

  public let path: String
  public let id: String
  public let created: String
  /// The seal's `Recipient:` lines every backup must have (`x25519 <fingerprint>`, ...).
  public let recipients: [String]
  /// The Ed25519 fingerprint of the key that seals backups and signs the chain.
  public let signer: String
  /// The SHA-256 of `rehost-repo.json` (the chain's first line names it).
  public let infoSHA256: String
  /// Where its files are read from (its directory, or a copy on a remote).
  public let files: any RepositoryFiles

  public var chainPath: String { path + "/" + Self.chainName }
  public func file(_ name: String) -> String { path + "/" + name }

  /// The name of backup `sequence`, taken at `time` (`YYYY-MM-DDTHH:MM:SSZ`).
  public static func archiveName(sequence: Int, time: String) -> String {
    time.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "") + "-" + String(format: "%06d", sequence) + ".rehost"
  }

  /// Whether `name` is a backup archive's name (and which sequence number it carries).
  public static func sequence(inName name: String) -> Int? {
    guard name.hasSuffix(".rehost"), !name.hasPrefix("."),
          let dash = name.lastIndex(of: "-") else { return nil }
    let digits = name[name.index(after: dash)...].dropLast(".rehost".count)
    guard digits.count >= 6, digits.allSatisfy(\.isNumber) else { return nil }
    return Int(digits)
  }

  /// The text of `rehost-repo.json`: one JSON object, keys in this order.
  static func infoText(id: String, created: String, recipients: [String], signer: String) -> String {
    "{\"format\":\(JSONText.string(format)),\"id\":\(JSONText.string(id)),\"created\":\(JSONText.string(created)),"
      + "\"signer\":\(JSONText.string(signer)),\"recipients\":[" + recipients.map(JSONText.string).joined(separator: ",") + "]}\n"
  }

  /// Creates a repository at `path` (a new or empty directory, made 0700), its info file
  /// and the chain's first line, signed by `signer`.
  public static func create(at path: String, recipients: [String], signer: AsymmetricKey) throws -> Repository {
    if mkdir(path, 0o700) != 0 {
      guard errno == EEXIST else { throw SystemError.io("create the repository", path) }
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"]
      guard entries.isEmpty else {
        throw RehostError(.refused, "\(path) is not empty\(entries.contains(infoName) ? ": it is a repository already" : "")",
                          hint: "give a new or empty directory to `rehost backup init`")
      }
    }
    let id = Hex.encode(try SecureRandom.bytes(16))
    let text = infoText(id: id, created: Timestamp.now(), recipients: recipients, signer: signer.fingerprint())
    let info = try AtomicFile(path: path + "/" + infoName, mode: 0o644)
    try Array(text.utf8).withUnsafeBytes { try info.write($0) }
    try info.commit()
    let repository = try open(path)
    let chain = try SignedLogFile(path: repository.chainPath, head: "", nextSeq: 0)
    try chain.append(Chain.Event.initialized.rawValue, [("repository", .string(id)), ("repository_sha256", .string(repository.infoSHA256))],
                     signer: signer)
    return repository
  }

  public init(path: String, id: String, created: String, recipients: [String], signer: String, infoSHA256: String,
              files: (any RepositoryFiles)? = nil) {
    (self.path, self.id, self.created, self.recipients, self.signer, self.infoSHA256) = (path, id, created, recipients, signer, infoSHA256)
    self.files = files ?? LocalFiles(path: path)
  }

  /// Throws unless `trusted` is the key that seals this repository's backups.
  public func requireSigner(_ trusted: AsymmetricKey) throws {
    guard signer == trusted.fingerprint() else {
      throw RehostError(.seal, "\(path) is sealed by key \(signer.prefix(16))…, not by the key you trust (\(trusted.fingerprint().prefix(16))…)",
                        hint: "pass --trust with the host's public key, as compared out of band")
    }
  }

  /// The policy a backup's seal must meet: signed by `trusted` (the host) as sealer.
  public static func sealerPolicy(_ trusted: AsymmetricKey) -> TrustPolicy {
    TrustPolicy(keys: [.init(key: trusted, path: "the host's key", roles: ["sealer"], person: "host")],
                requirements: [.role("sealer", count: 1)], source: "the host's key")
  }

  /// Opens the repository at `path`: its info file, strictly read.
  public static func open(_ path: String) throws -> Repository {
    try open(LocalFiles(path: path))
  }

  /// Opens the repository whose files `files` reads (a directory or a remote copy).
  public static func open(_ files: any RepositoryFiles) throws -> Repository {
    guard let bytes = try files.read(infoName, what: "repository file", limit: 64 * 1024) else {
      throw RehostError(.usage, "\(files.shown) is not a backup repository (no \(infoName))", hint: "create one with `rehost backup init`")
    }
    return try parse(bytes, path: files.shown, files: files)
  }

  /// The repository whose `rehost-repo.json` holds `bytes` (nothing read from disk).
  public static func parse(_ bytes: [UInt8], path: String, files: (any RepositoryFiles)? = nil) throws -> Repository {
    let infoPath = path + "/" + infoName
    func bad(_ why: String) -> RehostError {
      RehostError(.corrupt, "\(infoPath): \(why)", hint: "this file is written once by `rehost backup init` and never changed; restore it from a copy")
    }
    guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
          object["format"] as? String == format, let id = object["id"] as? String, RepositoryLink.isValidID(id),
          let created = object["created"] as? String, Timestamp.isValid(created),
          let signer = object["signer"] as? String, signer.count == 64,
          let recipients = object["recipients"] as? [String], !recipients.isEmpty else {
      throw bad("not a \(format) file (format, id, created, signer, recipients)")
    }
    guard Array(infoText(id: id, created: created, recipients: recipients, signer: signer).utf8) == bytes else {
      throw bad("not written the canonical way")
    }
    return Repository(path: path, id: id, created: created, recipients: recipients, signer: signer,
                      infoSHA256: Hex.encode(SHA256.hash(bytes)), files: files)
  }
}
