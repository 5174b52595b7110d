import RehostBase
import RehostCrypto

/// A passphrase, stretched with scrypt (r = 8, p = 1).
///
/// Stanza: `recipient scrypt <salt> <log2 N>`; the wrap key is scrypt(passphrase,
/// "rehost/1 scrypt" || salt, N).
public struct PassphraseRecipient: Recipient {
  public static let stanzaType = "scrypt"
  /// 2^18: about 1 s and 256 MiB (128 * r * N bytes) here, for an archive that may sit for years.
  public static let defaultLogN = 18
  static let saltLabel = Array("rehost/1 scrypt".utf8)

  let passphrase: [UInt8]
  let logN: Int

  public init(passphrase: [UInt8], logN: Int = PassphraseRecipient.defaultLogN) {
    self.passphrase = passphrase
    self.logN = logN
  }

  public var sealDescriptions: [String] { ["scrypt passphrase"] }

  /// `scrypt <16 bytes, base64> <logN, 10 to 20>` with a 48-byte body.
  static func isWellFormed(_ stanza: Stanza) -> Bool {
    guard stanza.arguments.count == 2, Base64.decode(stanza.arguments[0])?.count == 16,
          let logN = Int(stanza.arguments[1]), String(logN) == stanza.arguments[1] else { return false }
    return (10...PassphraseIdentity.maxLogN).contains(logN) && stanza.body.count == 48
  }

  public func stanzas(dataKey: [UInt8]) throws -> [Stanza] {
    let salt = try SecureRandom.bytes(16)
    let key = try KeyDerivation.scrypt(passphrase: passphrase, salt: Self.saltLabel + salt, logN: logN, length: 32)
    var stanza = Stanza(type: Self.stanzaType, arguments: [Base64.encode(salt), String(logN)], body: [])
    stanza.body = try KeyWrap.seal(key: key, stanzaLine: stanza.line, dataKey: dataKey)
    return [stanza]
  }
}

/// A passphrase offered to open an archive.
public struct PassphraseIdentity: Identity {
  /// A header may not make us spend more than 2^20 (1 GiB of memory, a few seconds).
  public static let maxLogN = 20

  let passphrase: [UInt8]

  public init(passphrase: [UInt8]) { self.passphrase = passphrase }

  public var displayName: String { "the passphrase" }

  public func unwrap(_ stanza: Stanza) throws -> [UInt8]? {
    guard stanza.type == PassphraseRecipient.stanzaType else { return nil }
    guard stanza.arguments.count == 2, let salt = Base64.decode(stanza.arguments[0]), salt.count == 16,
          let logN = Int(stanza.arguments[1]), (10...Self.maxLogN).contains(logN) else {
      throw RehostError(.corrupt, "the archive header's scrypt entry is damaged or asks for an unreasonable work factor",
                        hint: "the header was modified; use another copy")
    }
    let key = try KeyDerivation.scrypt(
      passphrase: passphrase, salt: PassphraseRecipient.saltLabel + salt, logN: logN, length: 32)
    return try KeyWrap.open(key: key, stanzaLine: stanza.line, body: stanza.body)
  }
}
