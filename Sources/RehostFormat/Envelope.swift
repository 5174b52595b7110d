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
      stanzas: try recipients.flatMap { try $0.stanzas(dataKey: dataKey) },
      chunkSize: chunkSize, payloadSalt: try SecureRandom.bytes(16))
    header.mac = try mac(header, dataKey: dataKey)
    return (header, try payloadKey(header, dataKey: dataKey))
  }

  /// Finds a stanza one of `identities` opens, or gathers enough custodian shares (from
  /// the identities and from `shares` brought in share files), checks the header's MAC,
  /// and returns the payload key.
  ///
  /// - Throws: `.key` when nothing given fits, or too few shares are present (saying how
  ///   many are needed and whose are missing), or a brought share is wrong (naming it);
  ///   `.corrupt` when the header was altered.
  public static func open(_ header: ArchiveHeader, with identities: [Identity], shares brought: [KeyShare] = []) throws -> [UInt8] {
    for identity in identities {
      for stanza in header.stanzas {
        guard let dataKey = try identity.unwrap(stanza) else { continue }
        return try payloadKey(header, checking: dataKey)
      }
    }
    let shareStanzas = try header.stanzas.compactMap { try ShareStanza($0) }
    if !shareStanzas.isEmpty {
      var shares: [UInt8: KeyShare] = [:]
      for identity in identities {
        for stanza in header.stanzas {
          if let share = try identity.unwrapShare(stanza) { shares[share.share.index] = share }
        }
      }
      for share in brought {
        guard let stanza = shareStanzas.first(where: { $0.index == share.share.index }), stanza.matches(share.share) else {
          throw RehostError(.key, "share \(share.share.index) (custodian \(share.custodian.prefix(16))…) does not belong to this archive or was altered",
                            hint: "ask that custodian to export their share of this archive again")
        }
        shares[share.share.index] = share
      }
      let needed = shareStanzas[0].threshold
      if shares.count >= needed {
        let chosen = shares.values.sorted { $0.share.index < $1.share.index }.prefix(needed)
        let dataKey = Shamir.combine(chosen.map(\.share))
        guard try mac(header, dataKey: dataKey) == header.mac else {
          throw RehostError(.corrupt, "the custodians' shares combine to a key the header does not accept: the header was modified",
                            hint: "do not trust this copy; use another copy and compare its SHA-256 with the seal")
        }
        return try payloadKey(header, dataKey: dataKey)
      }
      if !shares.isEmpty || identities.isEmpty {
        let missing = shareStanzas.filter { shares[$0.index] == nil }.map { String($0.custodian.prefix(16)) + "…" }
        throw RehostError(.key, "this archive needs \(needed) of \(shareStanzas.count) custodians' shares; \(shares.count) present",
                          hint: "bring \(needed - shares.count) more: --identity KEY of another custodian, or --share FILE from `rehost share export`; custodians without a share here: \(missing.joined(separator: ", "))")
      }
    }
    let openers = header.stanzas.map { s in
      switch s.type {
      case X25519Recipient.stanzaType: "x25519 key \(s.arguments.first ?? "?")"
      case CustodianGroup.stanzaType: "custodian \(s.arguments.dropFirst(2).first ?? "?") (share \(s.arguments.first ?? "?"))"
      default: "\(s.type) passphrase"
      }
    }
    throw RehostError(.key, "none of the given keys or passphrases opens this archive (tried \(identities.map(\.displayName).joined(separator: ", ")))",
                      hint: "the archive is encrypted to: \(openers.joined(separator: "; ")); `rehost keygen --show NAME.pub` prints a key's fingerprint")
  }

  private static func payloadKey(_ header: ArchiveHeader, checking dataKey: [UInt8]) throws -> [UInt8] {
    guard try mac(header, dataKey: dataKey) == header.mac else {
      throw RehostError(.corrupt, "the archive header fails its authentication check: it was modified",
                        hint: "do not trust this copy; use another copy and compare its SHA-256 with the seal")
    }
    return try payloadKey(header, dataKey: dataKey)
  }

  static func mac(_ header: ArchiveHeader, dataKey: [UInt8]) throws -> [UInt8] {
    let key = try KeyDerivation.hkdfSHA256(ikm: dataKey, salt: [], info: headerInfo, length: 32)
    return try KeyDerivation.hmacSHA256(key: key, data: header.bytesCoveredByMAC())
  }

  static func payloadKey(_ header: ArchiveHeader, dataKey: [UInt8]) throws -> [UInt8] {
    try KeyDerivation.hkdfSHA256(ikm: dataKey, salt: header.payloadSalt, info: payloadInfo, length: 32)
  }
}
