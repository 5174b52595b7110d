import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// A witness's signature added to an existing seal.
public struct CountersignOptions {
  public var archive: String
  public var sealPath: String?
  public var signer: PrivateIdentity
  public var role: String
  public var note: String?
  /// Serial numbers of tamper-evident bags or disk seals the witness saw.
  public var bags: [String] = []

  public init(archive: String, signer: PrivateIdentity, role: String) {
    self.archive = archive
    self.signer = signer
    self.role = role
  }
}

public enum Countersign {
  /// Checks that the archive is the one the statement describes, then appends a signature
  /// block (role, time, key, bags, note) and rewrites the seal atomically.
  ///
  /// - Returns: the seal as written.
  @discardableResult
  public static func run(_ options: CountersignOptions) throws -> Seal {
    guard Roles.isValid(options.role), options.role != "*" else {
      throw RehostError(.usage, "invalid role '\(options.role)'", hint: "use a lower-case word such as operator, auditor, isp-witness")
    }
    for value in options.bags + [options.note].compactMap({ $0 }) where value.isEmpty || !SealFields.isValidValue(value) {
      throw RehostError(.usage, "'\(value)' cannot go into a seal: use one line of printable text without leading or trailing spaces")
    }
    guard let key = options.signer.signing else {
      throw RehostError(.key, "\(options.signer.path) has no Ed25519 signing key", hint: "pass a NAME.key written by `rehost keygen`")
    }
    let sealPath = options.sealPath ?? options.archive + ".seal"
    var seal = try SealCheck.load(archive: options.archive, sealPath: sealPath)
    let facts = try SealFacts(fields: seal.statement)
    // A witness vouches for what is in front of them: the archive must match first.
    let (sha256, size) = try Verify.hashFile(options.archive)
    try SealCheck.compare(facts, sha256: sha256, size: size)
    if seal.signatures.contains(where: { $0.keyFingerprint == key.fingerprint() && $0.role == options.role }) {
      throw RehostError(.refused, "\(options.signer.path) has already signed this seal as \(options.role)")
    }
    var extra = SealFields()
    for bag in options.bags { extra.append("Bag", bag) }
    if let note = options.note { extra.append("Note", note) }
    try seal.sign(role: options.role, key: key, time: Timestamp.now(), extra: extra)
    try writeFileAtomically(seal.encoded(), to: sealPath, replace: true)
    return seal
  }
}
