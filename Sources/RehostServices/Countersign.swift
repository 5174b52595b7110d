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
  /// Checks that the archive is the one the statement describes and that the seal is
  /// intact (every signature verifies, the sealer's first), then appends a signature
  /// block (role, time, key, bags, note) and rewrites the seal atomically. Runs signing
  /// the same seal take turns (a lock on the archive file), so none loses a signature.
  ///
  /// - Returns: the seal as written.
  @discardableResult
  public static func run(_ options: CountersignOptions) throws -> Seal {
    guard Roles.isValid(options.role), options.role != "*", options.role != "sealer" else {
      throw RehostError(.usage, "invalid role '\(options.role)'",
                        hint: "use a lower-case word such as operator, auditor, isp-witness (sealer is the snapshot's own signature)")
    }
    for value in options.bags + [options.note].compactMap({ $0 }) where value.isEmpty || !SealFields.isValidValue(value) {
      throw RehostError(.usage, "'\(value)' cannot go into a seal: use one line of printable text without leading or trailing spaces")
    }
    guard let key = options.signer.signing else {
      throw RehostError(.key, "\(options.signer.path) has no Ed25519 signing key", hint: "pass a NAME.key written by `rehost keygen`")
    }
    let sealPath = options.sealPath ?? options.archive + ".seal"
    // A witness vouches for what is in front of them: the archive must match first.
    let before = try SealCheck.load(archive: options.archive, sealPath: sealPath)
    let facts = try SealFacts(fields: before.statement)
    let (sha256, size) = try Verify.hashFile(options.archive)
    try SealCheck.compare(facts, sha256: sha256, size: size)

    let lock = try ArchiveLock(archive: options.archive)
    defer { lock.release() }
    // Read again under the lock: another witness may have signed meanwhile.
    var seal = try SealCheck.load(archive: options.archive, sealPath: sealPath)
    guard seal.statement == before.statement else {
      throw RehostError(.seal, "the seal's statement changed while you were signing", hint: "check the seal (`rehost seal show`) and sign again")
    }
    try seal.validate()
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

/// Serialises writers of one archive's seal: an exclusive `flock` on the archive file
/// itself (which is never rewritten), waited for up to a minute.
struct ArchiveLock {
  private let fd: Int32

  init(archive: String) throws {
    fd = try InputFile.openRegular(archive, what: "archive")
    let deadline = time(nil) + 60
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
      guard time(nil) < deadline else {
        close(fd)
        throw RehostError(.busy, "another run has been signing \(archive)'s seal for over a minute",
                          hint: "wait for it to finish, then sign again")
      }
      usleep(50_000)
    }
  }

  func release() { close(fd) }
}
