import RehostBase
import RehostCrypto

/// Seals and opens an archive's header: the data key, its wrapped copies and the keys
/// derived from it. The age-like public face of the format: `seal(to:)`, `open(with:)`.
public enum Envelope {
  static let headerInfo = Array("rehost/1 header mac".utf8)
  static let payloadInfo = Array("rehost/1 payload".utf8)

  /// Creates a fresh data key, wraps it for every recipient and authenticates the header.
  ///
  /// - Returns: the header to write and the key for the payload's ``ChunkEncryptor``.
  public static func seal(
    to recipients: [Recipient], chunkSize: Int = ChunkedStream.defaultChunkSize
  ) throws -> (header: ArchiveHeader, payloadKey: [UInt8]) {
    precondition(!recipients.isEmpty, "an archive needs at least one recipient")
    let dataKey = try SecureRandom.bytes(32)
    var header = ArchiveHeader(
      stanzas: try recipients.map { try $0.wrap(dataKey: dataKey) },
      chunkSize: chunkSize, payloadSalt: try SecureRandom.bytes(16))
    header.mac = try mac(header, dataKey: dataKey)
    return (header, try payloadKey(header, dataKey: dataKey))
  }

  /// Finds a stanza one of `identities` opens, checks the header's MAC, and returns
  /// the payload key.
  ///
  /// - Throws: `.key` when no identity fits (naming who the archive is for),
  ///   `.corrupt` when the header was altered.
  public static func open(_ header: ArchiveHeader, with identities: [Identity]) throws -> [UInt8] {
    for identity in identities {
      for stanza in header.stanzas {
        guard let dataKey = try identity.unwrap(stanza) else { continue }
        guard try mac(header, dataKey: dataKey) == header.mac else {
          throw RehostError(.corrupt, "the archive header fails its authentication check: it was modified",
                            hint: "do not trust this copy; use another copy and compare its SHA-256 with the seal")
        }
        return try payloadKey(header, dataKey: dataKey)
      }
    }
    let openers = header.stanzas.map { s in
      s.type == X25519Recipient.stanzaType ? "x25519 key \(s.arguments.first ?? "?")" : "\(s.type) passphrase"
    }
    throw RehostError(.key, "none of the given keys or passphrases opens this archive (tried \(identities.map(\.displayName).joined(separator: ", ")))",
                      hint: "the archive is encrypted to: \(openers.joined(separator: "; ")); `rehost keygen --show NAME.pub` prints a key's fingerprint")
  }

  static func mac(_ header: ArchiveHeader, dataKey: [UInt8]) throws -> [UInt8] {
    let key = try KeyDerivation.hkdfSHA256(ikm: dataKey, salt: [], info: headerInfo, length: 32)
    return try KeyDerivation.hmacSHA256(key: key, data: header.bytesCoveredByMAC())
  }

  static func payloadKey(_ header: ArchiveHeader, dataKey: [UInt8]) throws -> [UInt8] {
    try KeyDerivation.hkdfSHA256(ikm: dataKey, salt: header.payloadSalt, info: payloadInfo, length: 32)
  }
}
