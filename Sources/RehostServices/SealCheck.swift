import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// One signature on a seal, as judged against a trust policy.
public struct SignatureCheck: Sendable {
  public enum Status: Sendable, Equatable {
    /// Verified under a trusted key (named by its file) in a role the policy allows.
    case counted(trustedKey: String)
    /// Not checked or not allowed; says why. It does not count towards the policy.
    case notCounted(reason: String)
  }

  public let index: Int
  public let role: String
  public let keyFingerprint: String
  public let time: String
  /// Physical seal or bag serials this signer recorded.
  public let bags: [String]
  public let note: String?
  public let status: Status

  public var counts: Bool { if case .counted = status { true } else { false } }
}

/// Loads a seal and checks its signatures against a trust policy. Needs no decryption key.
public enum SealCheck {
  /// Reads `sealPath` (default: the archive's path + ".seal"): a regular file of at
  /// most 1 MiB, parsed from its exact bytes.
  public static func load(archive: String, sealPath: String?) throws -> Seal {
    let path = sealPath ?? archive + ".seal"
    if !FileManager.default.fileExists(atPath: archive) {
      throw RehostError(.usage, "there is no archive at \(archive)", hint: "check the path (an archive is FILE.rehost, its seal FILE.rehost.seal beside it)")
    }
    try refuseSealAsArchive(archive, sealPath: sealPath)
    guard FileManager.default.fileExists(atPath: path) else {
      let url = URL(fileURLWithPath: path)
      let unfinished = ((try? FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)) ?? [])
        .contains { $0.hasPrefix("." + url.lastPathComponent + AtomicFile.marker) }
      throw RehostError(.seal, "no seal at \(path): the archive cannot be checked without it",
                        hint: unfinished
                          ? "a snapshot writing this archive was interrupted before its seal was in place: the archive is incomplete; run the snapshot again"
                          : "the seal is written beside the archive as ARCHIVE.seal; pass --seal PATH if it was moved")
    }
    return try Seal.parse(try InputFile.read(path, what: "seal", limit: Seal.maxSealBytes, kind: .seal))
  }

  /// A seal named where the archive goes (`X.rehost.seal`, with no seal of its own beside it).
  static func refuseSealAsArchive(_ archive: String, sealPath: String?) throws {
    guard archive.hasSuffix(".seal"), sealPath == nil, !FileManager.default.fileExists(atPath: archive + ".seal") else { return }
    throw RehostError(.usage, "\(archive) is a seal; give the archive it seals",
                      hint: "pass \(archive.dropLast(5)) (the seal beside it is found by its name; `rehost seal show` prints it)")
  }

  /// Checks every signature, then the policy's requirements and the expected bag serials.
  ///
  /// - Throws: `.seal` when a signature does not match the statement, a trusted key's
  ///   signature does not verify, or no trusted key signed; `.policy` when trusted
  ///   signatures are there but the policy's requirements or the bag serials are not met.
  public static func check(_ seal: Seal, policy: TrustPolicy, expectedBags: [String]? = nil) throws -> [SignatureCheck] {
    var trusted: [String: TrustPolicy.TrustedKey] = [:]
    for key in policy.keys { trusted[key.key.fingerprint()] = key }
    // Every block must be intact, whoever signed it: an altered block is an altered seal.
    try seal.validate()
    var results: [SignatureCheck] = []
    var people: [String: Set<String>] = [:]  // role -> people who signed as it
    for (i, signature) in seal.signatures.enumerated() {
      let status: SignatureCheck.Status
      if let entry = trusted[signature.keyFingerprint] {
        if entry.allows(signature.role) {
          status = .counted(trustedKey: entry.path)
          people[signature.role, default: []].insert(entry.person)
        } else {
          status = .notCounted(reason: "\(entry.path) may not sign as \(signature.role) (\(policy.source) allows \(entry.roles.joined(separator: ", ")))")
        }
      } else {
        status = .notCounted(reason: "key not trusted by \(policy.source)")
      }
      results.append(SignatureCheck(
        index: i + 1, role: signature.role, keyFingerprint: signature.keyFingerprint, time: signature.time,
        bags: signature.fields.values("Bag"), note: signature.fields.value("Note"), status: status))
    }

    let counted = results.filter(\.counts)
    guard !counted.isEmpty else {
      let signers = results.map { "\($0.role) \($0.keyFingerprint)" }.joined(separator: ", ")
      throw RehostError(.seal, "no trusted key signed this seal (signed by: \(signers))",
                        hint: "pass --trust SEALER.pub (or a --policy naming the signers); check who sealed it with `rehost seal show`")
    }
    if policy.sealerMustBeTrusted, let sealer = results.first(where: { $0.role == "sealer" }), !sealer.counts {
      let others = counted.map { "\($0.role), key \($0.keyFingerprint)" }.joined(separator: "; ")
      throw RehostError(.seal, "the sealer of this seal (key \(sealer.keyFingerprint)) is not among the --trust keys; only a countersignature is (\(others))",
                        hint: "pass --trust SEALER.pub for the key that sealed it (compare its fingerprint out of band); a countersignature alone does not vouch for the content")
    }
    var unmet: [String] = []
    let everyone = people.values.reduce(into: Set<String>()) { $0.formUnion($1) }
    for requirement in policy.requirements {
      switch requirement {
      case .role(let role, let count):
        let have = people[role]?.count ?? 0
        if have < count {
          if role == "sealer", count == 1, let sealer = results.first(where: { $0.role == "sealer" }) {
            unmet.append("the sealer (key \(sealer.keyFingerprint)) is not among the trusted keys; only countersignatures are")
          } else {
            unmet.append("\(role): \(have) of \(count) signed")
          }
        }
      case .people(let count):
        if everyone.count < count { unmet.append("distinct people: \(everyone.count) of \(count)") }
      }
    }
    if !unmet.isEmpty {
      throw RehostError(.policy, "the seal does not meet \(policy.source): \(unmet.joined(separator: "; "))",
                        hint: "the missing signers countersign with `rehost seal sign FILE.rehost --key KEY --role ROLE`")
    }
    if let expectedBags {
      let recorded = Set(counted.flatMap(\.bags))
      guard recorded == Set(expectedBags) else {
        throw RehostError(.policy, "bag serials differ: the seal records \(recorded.sorted().joined(separator: ", ").ifEmpty("none")), expected \(expectedBags.sorted().joined(separator: ", "))",
                          hint: "the archive may not be in the bag it was sealed in; stop and investigate before opening anything")
      }
    }
    return results
  }

  /// Compares a finished read of the archive with the seal's facts.
  /// A seal given with `--seal` that names another archive, of another size, is a mix-up
  /// of files, said before anything is read (a renamed archive keeps its seal: its size
  /// is the seal's).
  static func expectSealFor(_ archive: String, _ facts: SealFacts, sealGiven: Bool) throws {
    var st = stat()
    guard sealGiven, URL(fileURLWithPath: archive).lastPathComponent != facts.archiveName,
          stat(archive, &st) == 0, st.st_mode & S_IFMT == S_IFREG, Int64(st.st_size) != facts.archiveSize else { return }
    throw RehostError(.seal, "this seal is for another archive (\(facts.archiveName), \(facts.archiveSize) bytes), not \(archive) (\(st.st_size) bytes)",
                      hint: "pass the seal of \(archive) (ARCHIVE.seal beside it, or --seal PATH)")
  }

  static func compare(_ facts: SealFacts, sha256: String, size: Int64) throws {
    guard sha256 == facts.archiveSHA256, size == facts.archiveSize else {
      throw RehostError(.corrupt, "the archive does not match its seal: SHA-256 \(sha256), \(size) bytes; the seal says \(facts.archiveSHA256), \(facts.archiveSize) bytes",
                        hint: "the archive was modified, damaged, or is not the one sealed; use another copy")
    }
  }

  /// Compares what a full read found with the seal's facts: the manifest's hash and
  /// totals, and the host, label, time, tool and sources both record.
  static func compare(_ facts: SealFacts, payload: PayloadSummary) throws {
    guard payload.manifestSHA256 == facts.manifestSHA256, payload.totals.entries == facts.entries,
          payload.totals.bytes == facts.contentBytes else {
      throw RehostError(.corrupt, "the archive's manifest does not match its seal",
                        hint: "the archive is not the one sealed; use another copy")
    }
    let differences = facts.differences(from: payload.manifestHeader, databases: payload.databases)
    guard differences.isEmpty else {
      throw RehostError(.corrupt, "the seal's statement and the archive's manifest disagree on \(differences.joined(separator: "; "))",
                        hint: "the archive is not the one sealed, or its sealer lied; do not trust it")
    }
  }
}

extension String {
  func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
