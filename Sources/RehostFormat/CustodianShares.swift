import RehostBase
import RehostCrypto

/// k-of-n custodians (dual control): the data key is split with ``Shamir`` and each
/// share is wrapped to one custodian's X25519 key, so that opening the archive takes
/// k custodians. Each share stanza carries a public commitment to its share, so a wrong
/// or altered share is rejected by name before it is used.
///
/// Stanza: `recipient share <k>-of-<n> <index> <custodian fingerprint> <ephemeral> <commitment>`
/// with the share value wrapped as for ``X25519Recipient`` (info "rehost/1 share key wrap").
public struct CustodianGroup: Recipient {
  public static let stanzaType = "share"
  static let wrapInfo = Array("rehost/1 share key wrap".utf8)

  public let threshold: Int
  public let custodians: [AsymmetricKey]

  public init(threshold: Int, custodians: [AsymmetricKey]) {
    precondition(custodians.allSatisfy { $0.algorithm == .x25519 })
    precondition((1...custodians.count).contains(threshold) && custodians.count <= 255)
    self.threshold = threshold
    self.custodians = custodians
  }

  public var sealDescriptions: [String] {
    custodians.map { "share \(threshold)-of-\(custodians.count) x25519 \($0.fingerprint())" }
  }

  public func stanzas(dataKey: [UInt8]) throws -> [Stanza] {
    let shares = try Shamir.split(dataKey, threshold: threshold, shares: custodians.count)
    return try zip(custodians, shares).map { custodian, share in
      let ephemeral = try AsymmetricKey.generate(.x25519)
      let ephemeralRaw = ephemeral.rawPublicKey()
      let key = try KeyDerivation.hkdfSHA256(
        ikm: try ephemeral.sharedSecret(with: custodian), salt: ephemeralRaw + custodian.rawPublicKey(),
        info: Self.wrapInfo, length: 32)
      var stanza = Stanza(type: Self.stanzaType, arguments: [
        "\(threshold)-of-\(custodians.count)", String(share.index), custodian.fingerprint(),
        Base64.encode(ephemeralRaw), Base64.encode(ShareStanza.commitment(ephemeral: ephemeralRaw, share: share)),
      ], body: [])
      stanza.body = try KeyWrap.seal(key: key, stanzaLine: stanza.line, dataKey: share.value)
      return stanza
    }
  }
}

/// One custodian's share, unwrapped.
public struct KeyShare: Equatable, Sendable {
  public let share: Shamir.Share
  public let threshold: Int
  public let total: Int
  /// Fingerprint of the custodian's X25519 key.
  public let custodian: String
}

/// A parsed `share` stanza.
struct ShareStanza {
  let threshold: Int
  let total: Int
  let index: UInt8
  let custodian: String
  let ephemeral: [UInt8]
  let commitment: [UInt8]
  let stanza: Stanza

  /// nil when the stanza is not a share stanza; throws when it is one but malformed.
  init?(_ stanza: Stanza) throws {
    guard stanza.type == CustodianGroup.stanzaType else { return nil }
    let a = stanza.arguments
    let kn = a.first?.split(separator: "-").map(String.init) ?? []
    guard a.count == 5, kn.count == 3, kn[1] == "of", let k = Int(kn[0]), let n = Int(kn[2]), k >= 1, k <= n, n <= 255,
          "\(k)-of-\(n)" == a[0], let index = UInt8(a[1]), String(index) == a[1], index >= 1, Int(index) <= n,
          SealFields.isHexDigest(a[2]), let ephemeral = Base64.decode(a[3]), ephemeral.count == 32,
          let commitment = Base64.decode(a[4]), commitment.count == 32 else {
      throw RehostError(.corrupt, "the archive header has a malformed custodian share entry", hint: "the header was modified; use another copy")
    }
    (threshold, total, self.index, custodian, self.ephemeral, self.commitment, self.stanza) = (k, n, index, a[2], ephemeral, commitment, stanza)
  }

  static func commitment(ephemeral: [UInt8], share: Shamir.Share) -> [UInt8] {
    SHA256.hash(Array("rehost/1 share commitment".utf8) + ephemeral + [share.index] + share.value)
  }

  func matches(_ share: Shamir.Share) -> Bool {
    share.index == index && Self.commitment(ephemeral: ephemeral, share: share) == commitment
  }

  func open(with privateKey: AsymmetricKey) throws -> KeyShare {
    let damaged = RehostError(.corrupt, "the archive header's share entry \(index) for custodian \(custodian.prefix(16))… does not authenticate",
                              hint: "the header was modified; use another copy")
    guard let ephemeralKey = try? AsymmetricKey.publicKey(.x25519, raw: ephemeral),
          let secret = try? privateKey.sharedSecret(with: ephemeralKey) else { throw damaged }
    let key = try KeyDerivation.hkdfSHA256(
      ikm: secret, salt: ephemeral + privateKey.rawPublicKey(), info: CustodianGroup.wrapInfo, length: 32)
    guard let value = try KeyWrap.open(key: key, stanzaLine: stanza.line, body: stanza.body) else { throw damaged }
    let share = Shamir.Share(index: index, value: value)
    guard matches(share) else { throw damaged }
    return KeyShare(share: share, threshold: threshold, total: total, custodian: custodian)
  }
}
