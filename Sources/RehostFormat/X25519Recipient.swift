import RehostBase
import RehostCrypto

/// A custodian's X25519 public key (from `NAME.pub`).
///
/// Stanza: `recipient x25519 <recipient fingerprint> <ephemeral public key>`; the wrap
/// key is HKDF-SHA256(X25519(ephemeral, recipient), salt: ephemeral || recipient).
public struct X25519Recipient: Recipient {
  public static let stanzaType = "x25519"
  static let info = Array("rehost/1 x25519 key wrap".utf8)

  public let publicKey: AsymmetricKey

  public init(publicKey: AsymmetricKey) {
    precondition(publicKey.algorithm == .x25519)
    self.publicKey = publicKey
  }

  public var sealDescriptions: [String] { ["x25519 \(publicKey.fingerprint())"] }

  /// `x25519 <64 hex digits> <32 bytes, base64>` with a 48-byte body.
  static func isWellFormed(_ stanza: Stanza) -> Bool {
    stanza.arguments.count == 2 && SealFields.isHexDigest(stanza.arguments[0])
      && Base64.decode(stanza.arguments[1])?.count == 32 && stanza.body.count == 48
  }

  public func stanzas(dataKey: [UInt8]) throws -> [Stanza] { [try wrap(dataKey: dataKey)] }

  func wrap(dataKey: [UInt8]) throws -> Stanza {
    let ephemeral = try AsymmetricKey.generate(.x25519)
    let ephemeralRaw = ephemeral.rawPublicKey()
    let secret = try ephemeral.sharedSecret(with: publicKey)
    let key = try KeyDerivation.hkdfSHA256(
      ikm: secret, salt: ephemeralRaw + publicKey.rawPublicKey(), info: Self.info, length: 32)
    var stanza = Stanza(type: Self.stanzaType, arguments: [publicKey.fingerprint(), Base64.encode(ephemeralRaw)], body: [])
    stanza.body = try KeyWrap.seal(key: key, stanzaLine: stanza.line, dataKey: dataKey)
    return stanza
  }
}

/// A custodian's X25519 private key.
public struct X25519Identity: Identity {
  public let privateKey: AsymmetricKey

  public init(privateKey: AsymmetricKey) {
    precondition(privateKey.algorithm == .x25519 && privateKey.hasPrivateKey)
    self.privateKey = privateKey
  }

  public var displayName: String { "key \(privateKey.fingerprint())" }

  public func unwrap(_ stanza: Stanza) throws -> [UInt8]? {
    guard stanza.type == X25519Recipient.stanzaType, stanza.arguments.count == 2,
          stanza.arguments[0] == privateKey.fingerprint() else { return nil }
    guard let ephemeralRaw = Base64.decode(stanza.arguments[1]), ephemeralRaw.count == 32,
          let ephemeral = try? AsymmetricKey.publicKey(.x25519, raw: ephemeralRaw),
          let secret = try? privateKey.sharedSecret(with: ephemeral) else {
      throw RehostError(.corrupt, "the archive header's x25519 entry for \(displayName) is damaged",
                        hint: "the header was modified; use another copy")
    }
    let key = try KeyDerivation.hkdfSHA256(
      ikm: secret, salt: ephemeralRaw + privateKey.rawPublicKey(), info: X25519Recipient.info, length: 32)
    guard let dataKey = try KeyWrap.open(key: key, stanzaLine: stanza.line, body: stanza.body) else {
      // The stanza names our key, so a failure here is damage, not a wrong key.
      throw RehostError(.corrupt, "the archive header's x25519 entry for \(displayName) does not authenticate",
                        hint: "the header was modified; use another copy")
    }
    return dataKey
  }

  public func unwrapShare(_ stanza: Stanza) throws -> KeyShare? {
    guard let stanza = try ShareStanza(stanza), stanza.custodian == privateKey.fingerprint() else { return nil }
    return try stanza.open(with: privateKey)
  }
}
