import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// A custodian, away from the restoring machine, hands over their share: unwrapped
/// with their key, re-encrypted to the operator's key, bound to this archive.
public enum ShareExport {
  public static func run(archive: String, custodian: PrivateIdentity, to recipient: PublicIdentity, out: String) throws -> KeyShare {
    guard let privateKey = custodian.encryption else { throw RehostError(.key, "\(custodian.path) has no X25519 key") }
    guard let operatorKey = recipient.encryption else { throw RehostError(.key, "\(recipient.path) has no X25519 key") }
    let (header, _) = try ArchiveHeader.read(from: try FileSource(path: archive, what: "archive"))
    let identity = X25519Identity(privateKey: privateKey)
    guard let share = try header.stanzas.lazy.compactMap({ try identity.unwrapShare($0) }).first else {
      throw RehostError(.key, "\(archive) holds no custodian share for \(custodian.path)",
                        hint: "the archive's custodians are listed by `rehost inspect \(archive)`")
    }
    let text = try ShareFile.encode(share, headerSHA256: headerDigest(header), to: operatorKey)
    try writeFileAtomically(text, to: out, mode: 0o600)
    return share
  }

  static func headerDigest(_ header: ArchiveHeader) -> String { Hex.encode(SHA256.hash(header.encoded())) }

  /// Opens share files brought for `header` with the operator's keys among `identities`.
  static func load(_ paths: [String], header: ArchiveHeader, identities: [Identity]) throws -> [KeyShare] {
    let keys = identities.compactMap { ($0 as? X25519Identity)?.privateKey }
    return try paths.map { path in
      let bytes = try InputFile.read(path, what: "share file", limit: 4096)
      guard let text = String(validating: bytes, as: UTF8.self) else {
        throw RehostError(.key, "share file \(path) is not a rehost share file", hint: "ask the custodian to export their share of this archive to your key again")
      }
      return try ShareFile.open(text, name: path, headerSHA256: headerDigest(header), keys: keys)
    }
  }
}
