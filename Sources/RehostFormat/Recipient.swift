import RehostCrypto

/// Someone an archive is encrypted to: wraps the archive's data key into stanzas
/// (one for a key or passphrase; one per custodian for a k-of-n group).
public protocol Recipient {
  /// Wraps `dataKey` (32 bytes) for this recipient.
  func stanzas(dataKey: [UInt8]) throws -> [Stanza]
  /// How the seal names each stanza, e.g. `x25519 <fingerprint>`.
  var sealDescriptions: [String] { get }
}

/// Something that can open stanzas: a private key or a passphrase.
public protocol Identity {
  /// Returns the data key if this stanza is for this identity and unwraps; nil if the
  /// stanza is not for it (or, for passphrases, the passphrase is wrong).
  func unwrap(_ stanza: Stanza) throws -> [UInt8]?
  /// Opens a custodian's share stanza if it is for this identity; nil otherwise.
  func unwrapShare(_ stanza: Stanza) throws -> KeyShare?
  /// For error messages, e.g. `key 3f2a…` or `the passphrase`.
  var displayName: String { get }
}

extension Identity {
  public func unwrapShare(_ stanza: Stanza) throws -> KeyShare? { nil }
}

/// Wraps with a one-time key: the nonce can be all zeros because every wrap key is unique.
enum KeyWrap {
  static let zeroNonce = [UInt8](repeating: 0, count: AESGCM.nonceSize)

  static func seal(key: [UInt8], stanzaLine: String, dataKey: [UInt8]) throws -> [UInt8] {
    try AESGCM(key: key).seal(nonce: zeroNonce, aad: Array(stanzaLine.utf8), plaintext: dataKey)
  }

  static func open(key: [UInt8], stanzaLine: String, body: [UInt8]) throws -> [UInt8]? {
    guard body.count == 32 + AESGCM.tagSize else { return nil }
    return try AESGCM(key: key).open(nonce: zeroNonce, aad: Array(stanzaLine.utf8), sealed: body)
  }
}
