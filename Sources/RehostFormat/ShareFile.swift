import RehostBase
import RehostCrypto

/// A custodian's share carried to the restoring operator when the custodians are not
/// at the same machine: the share, bound to one archive's header, encrypted to the
/// operator's X25519 key.
///
/// ```
/// rehost-share/1
/// archive-header-sha256 <hex>
/// share <k>-of-<n> <index> <custodian fingerprint>
/// recipient x25519 <operator fingerprint> <ephemeral, base64>
/// <share value wrapped as for x25519 recipients, info "rehost/1 share file", base64>
/// ```
/// The wrap's associated data is every line above the last. Encryption keeps the share
/// secret in transit; the archive header's commitment (checked when the share is used)
/// is what proves it is the custodian's real share.
public enum ShareFile {
  public static let magic = "rehost-share/1"
  static let info = Array("rehost/1 share file".utf8)

  public static func encode(_ share: KeyShare, headerSHA256: String, to operatorKey: AsymmetricKey) throws -> String {
    let ephemeral = try AsymmetricKey.generate(.x25519)
    let ephemeralRaw = ephemeral.rawPublicKey()
    let lines = [
      magic, "archive-header-sha256 \(headerSHA256)",
      "share \(share.threshold)-of-\(share.total) \(share.share.index) \(share.custodian)",
      "recipient x25519 \(operatorKey.fingerprint()) \(Base64.encode(ephemeralRaw))",
    ]
    let aad = lines.joined(separator: "\n") + "\n"
    let key = try KeyDerivation.hkdfSHA256(
      ikm: try ephemeral.sharedSecret(with: operatorKey), salt: ephemeralRaw + operatorKey.rawPublicKey(), info: info, length: 32)
    let wrapped = try KeyWrap.seal(key: key, stanzaLine: aad, dataKey: share.share.value)
    return aad + Base64.encode(wrapped) + "\n"
  }

  /// Opens a share file with one of `keys` (X25519 private keys) and checks it is for
  /// the archive whose header hashes to `headerSHA256`.
  public static func open(_ text: String, name: String, headerSHA256: String, keys: [AsymmetricKey]) throws -> KeyShare {
    func bad(_ why: String) -> RehostError {
      RehostError(.key, "share file \(name) \(why)", hint: "ask the custodian to export their share of this archive to your key again")
    }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard lines.count == 6, lines[5].isEmpty, lines[0] == magic else { throw bad("is not a rehost share file") }
    let header = lines[1].split(separator: " ").map(String.init)
    let share = lines[2].split(separator: " ").map(String.init)
    let recipient = lines[3].split(separator: " ").map(String.init)
    let kn = share.count == 4 ? share[1].split(separator: "-").map(String.init) : []
    guard header.count == 2, header[0] == "archive-header-sha256", share.count == 4, share[0] == "share",
          kn.count == 3, kn[1] == "of", let k = Int(kn[0]), let n = Int(kn[2]), let index = UInt8(share[2]),
          recipient.count == 4, recipient[0] == "recipient", recipient[1] == "x25519",
          let ephemeralRaw = Base64.decode(recipient[3]), ephemeralRaw.count == 32,
          let wrapped = Base64.decode(lines[4]) else { throw bad("is malformed") }
    guard header[1] == headerSHA256 else { throw bad("is for another archive") }
    guard let key = keys.first(where: { $0.fingerprint() == recipient[2] }) else {
      throw bad("is encrypted to key \(recipient[2].prefix(16))…, not to any --identity given")
    }
    guard let ephemeral = try? AsymmetricKey.publicKey(.x25519, raw: ephemeralRaw),
          let secret = try? key.sharedSecret(with: ephemeral) else { throw bad("is damaged") }
    let wrapKey = try KeyDerivation.hkdfSHA256(ikm: secret, salt: ephemeralRaw + key.rawPublicKey(), info: info, length: 32)
    let aad = lines[0..<4].joined(separator: "\n") + "\n"
    guard let value = try KeyWrap.open(key: wrapKey, stanzaLine: aad, body: wrapped) else { throw bad("is damaged or was altered") }
    return KeyShare(share: Shamir.Share(index: index, value: value), threshold: k, total: n, custodian: share[3])
  }
}
