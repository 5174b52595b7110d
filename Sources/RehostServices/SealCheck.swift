import Foundation
import RehostBase
import RehostCrypto
import RehostFormat

/// One signature on a seal, as judged against the trusted keys.
public struct SignatureCheck: Sendable {
  public enum Status: Sendable, Equatable {
    /// Verified under a trusted key (named by its file).
    case valid(trustedKey: String)
    /// Made by a key nobody passed with --trust: not checked, does not count.
    case untrusted
  }

  public let index: Int
  public let role: String
  public let keyFingerprint: String
  public let time: String
  public let status: Status
}

/// Loads a seal and checks its signatures. Needs no decryption key.
public enum SealCheck {
  /// Reads `sealPath` (default: the archive's path + ".seal").
  public static func load(archive: String, sealPath: String?) throws -> Seal {
    let path = sealPath ?? archive + ".seal"
    guard let data = FileManager.default.contents(atPath: path) else {
      throw RehostError(.seal, "no seal at \(path): the archive cannot be checked without it",
                        hint: "the seal is written beside the archive as ARCHIVE.seal; pass --seal PATH if it was moved")
    }
    return try Seal.parse(String(decoding: data, as: UTF8.self))
  }

  /// Checks every signature. A signature that does not match the statement, or that a
  /// trusted key does not verify, is an error naming it; at least one trusted key must
  /// have signed.
  public static func check(_ seal: Seal, trusted: [PublicIdentity]) throws -> [SignatureCheck] {
    var trustedKeys: [String: (AsymmetricKey, String)] = [:]
    for identity in trusted {
      guard let key = identity.signing else {
        throw RehostError(.usage, "\(identity.path) has no Ed25519 signing key to trust")
      }
      trustedKeys[key.fingerprint()] = (key, identity.path)
    }
    guard !seal.signatures.isEmpty else {
      throw RehostError(.seal, "the seal carries no signature", hint: "the seal was damaged or edited; use the original")
    }
    var results: [SignatureCheck] = []
    for (i, signature) in seal.signatures.enumerated() {
      let name = "signature \(i + 1) (\(signature.role), key \(signature.keyFingerprint.prefix(16))…)"
      guard signature.statementSHA256 == seal.statementSHA256 else {
        throw RehostError(.seal, "\(name) was made over a different statement: the seal statement was altered",
                          hint: "do not trust this seal; get the original from the sealer")
      }
      var status = SignatureCheck.Status.untrusted
      if let (key, path) = trustedKeys[signature.keyFingerprint] {
        guard seal.verify(signature, with: key) else {
          throw RehostError(.seal, "\(name) does not verify: the seal was altered or forged",
                            hint: "do not trust this seal; get the original from the sealer")
        }
        status = .valid(trustedKey: path)
      }
      results.append(SignatureCheck(index: i + 1, role: signature.role, keyFingerprint: signature.keyFingerprint,
                                    time: signature.time, status: status))
    }
    guard results.contains(where: { if case .valid = $0.status { true } else { false } }) else {
      let signers = results.map { "\($0.role) \($0.keyFingerprint)" }.joined(separator: ", ")
      throw RehostError(.seal, "no trusted key signed this seal (signed by: \(signers))",
                        hint: trusted.isEmpty ? "pass --trust SEALER.pub with the sealer's public key"
                          : "the seal was made by a key you do not trust; check who sealed it (`rehost inspect`)")
    }
    return results
  }

  /// Compares a finished read of the archive with the seal's facts.
  static func compare(_ facts: SealFacts, sha256: String, size: Int64) throws {
    guard sha256 == facts.archiveSHA256, size == facts.archiveSize else {
      throw RehostError(.corrupt, "the archive does not match its seal: SHA-256 \(sha256), \(size) bytes; the seal says \(facts.archiveSHA256), \(facts.archiveSize) bytes",
                        hint: "the archive was modified, damaged, or is not the one sealed; use another copy")
    }
  }

  /// Compares what a full read found with the seal's facts.
  static func compare(_ facts: SealFacts, payload: PayloadSummary) throws {
    guard payload.manifestSHA256 == facts.manifestSHA256, payload.totals.entries == facts.entries,
          payload.totals.bytes == facts.contentBytes else {
      throw RehostError(.corrupt, "the archive's manifest does not match its seal",
                        hint: "the archive is not the one sealed; use another copy")
    }
  }
}
