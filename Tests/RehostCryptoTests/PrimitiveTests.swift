import RehostCrypto
import Testing

@Suite struct PrimitiveTests {
  @Test func sha256KnownAnswersAndStreaming() {
    #expect(Hex.encode(SHA256.hash("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(Hex.encode(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    let h = SHA256()
    h.update("a")
    h.update("bc")
    #expect(Hex.encode(h.finalize()) == Hex.encode(SHA256.hash("abc")))
  }

  // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 14 (AES-256, zero key, IV, plaintext).
  @Test func aesGCMKnownAnswer() throws {
    let gcm = try AESGCM(key: [UInt8](repeating: 0, count: 32))
    let sealed = try gcm.seal(nonce: [UInt8](repeating: 0, count: 12), aad: [], plaintext: [UInt8](repeating: 0, count: 16))
    #expect(Hex.encode(sealed) == "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919")
    #expect(try gcm.open(nonce: [UInt8](repeating: 0, count: 12), aad: [], sealed: sealed) == [UInt8](repeating: 0, count: 16))
  }

  @Test func aesGCMRejectsAnyChange() throws {
    let gcm = try AESGCM(key: try SecureRandom.bytes(32))
    let nonce = try SecureRandom.bytes(12)
    let sealed = try gcm.seal(nonce: nonce, aad: [1, 2], plaintext: Array("dual control".utf8))
    for i in sealed.indices {
      var bad = sealed
      bad[i] ^= 0x80
      #expect(try gcm.open(nonce: nonce, aad: [1, 2], sealed: bad) == nil)
    }
    #expect(try gcm.open(nonce: nonce, aad: [1, 3], sealed: sealed) == nil)
    var otherNonce = nonce
    otherNonce[11] ^= 1
    #expect(try gcm.open(nonce: otherNonce, aad: [1, 2], sealed: sealed) == nil)
  }

  // RFC 8032 §7.1, test 1.
  @Test func ed25519KnownAnswer() throws {
    let key = try AsymmetricKey.privateKey(.ed25519, raw: Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!)
    #expect(Hex.encode(key.rawPublicKey()) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    let signature = try key.sign([])
    #expect(Hex.encode(signature) == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    #expect(key.verify(signature: signature, message: []))
    #expect(!key.verify(signature: signature, message: [0]))
  }

  // RFC 7748 §6.1.
  @Test func x25519KnownAnswer() throws {
    let alice = try AsymmetricKey.privateKey(.x25519, raw: Hex.decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")!)
    let bobPublic = try AsymmetricKey.publicKey(.x25519, raw: Hex.decode("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")!)
    #expect(Hex.encode(try alice.sharedSecret(with: bobPublic)) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
  }

  @Test func x25519RefusesLowOrderPoints() throws {
    let key = try AsymmetricKey.generate(.x25519)
    let zero = try AsymmetricKey.publicKey(.x25519, raw: [UInt8](repeating: 0, count: 32))
    #expect(throws: CryptoError.self) { try key.sharedSecret(with: zero) }
  }

  @Test func pemRoundTripPlainAndEncrypted() throws {
    let sign = try AsymmetricKey.generate(.ed25519)
    let box = try AsymmetricKey.generate(.x25519)
    let plain = "# comment\n" + (try sign.privateKeyPEM(passphrase: nil)) + (try box.privateKeyPEM(passphrase: nil))
    let keys = try AsymmetricKey.readPrivateKeys(pem: plain, passphrase: nil)
    #expect(keys.count == 2)
    #expect(keys[0].fingerprint() == sign.fingerprint() && keys[1].fingerprint() == box.fingerprint())

    let pass = Array("s3cret".utf8)
    let encrypted = (try sign.privateKeyPEM(passphrase: pass)) + (try box.privateKeyPEM(passphrase: pass))
    #expect(encrypted.contains("ENCRYPTED PRIVATE KEY"))
    let opened = try AsymmetricKey.readPrivateKeys(pem: encrypted, passphrase: pass)
    #expect(opened[1].fingerprint() == box.fingerprint())
    #expect(throws: CryptoError.self) { try AsymmetricKey.readPrivateKeys(pem: encrypted, passphrase: Array("wrong".utf8)) }
    #expect(throws: CryptoError.self) { try AsymmetricKey.readPrivateKeys(pem: encrypted, passphrase: nil) }

    let pub = "text before\n" + (try sign.publicKeyPEM()) + "between\n" + (try box.publicKeyPEM())
    let publics = try AsymmetricKey.readPublicKeys(pem: pub)
    #expect(publics.map(\.algorithm) == [.ed25519, .x25519])
    #expect(publics[0].fingerprint() == Hex.encode(SHA256.hash(sign.publicKeyDER())))
  }
}
