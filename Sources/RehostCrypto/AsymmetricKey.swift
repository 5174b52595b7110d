import COpenSSL

/// An Ed25519 or X25519 key (private or public only), held as an OpenSSL EVP_PKEY.
///
/// EVP_PKEY is safe for concurrent read-only use, hence `@unchecked Sendable`.
public final class AsymmetricKey: @unchecked Sendable {
  /// The two algorithms rehost uses: Ed25519 signs seals, X25519 receives archives.
  public enum Algorithm: String, Sendable, CaseIterable {
    case ed25519, x25519

    var nid: Int32 { self == .ed25519 ? EVP_PKEY_ED25519 : EVP_PKEY_X25519 }
    var name: String { self == .ed25519 ? "ED25519" : "X25519" }
  }

  let pkey: OpaquePointer
  public let algorithm: Algorithm
  /// True when the private half is present.
  public let hasPrivateKey: Bool

  private init(pkey: OpaquePointer, algorithm: Algorithm, hasPrivateKey: Bool) {
    self.pkey = pkey
    self.algorithm = algorithm
    self.hasPrivateKey = hasPrivateKey
  }

  deinit { EVP_PKEY_free(pkey) }

  /// Generates a fresh private key.
  public static func generate(_ algorithm: Algorithm) throws -> AsymmetricKey {
    guard let ctx = EVP_PKEY_CTX_new_from_name(nil, algorithm.name, nil) else {
      throw CryptoError.fromQueue("EVP_PKEY_CTX_new_from_name(\(algorithm.name))")
    }
    defer { EVP_PKEY_CTX_free(ctx) }
    try check(EVP_PKEY_keygen_init(ctx), "keygen init")
    var pkey: OpaquePointer?
    try check(EVP_PKEY_generate(ctx, &pkey), "\(algorithm.name) keygen")
    return AsymmetricKey(pkey: pkey!, algorithm: algorithm, hasPrivateKey: true)
  }

  /// Imports a raw 32-byte public key.
  public static func publicKey(_ algorithm: Algorithm, raw: [UInt8]) throws -> AsymmetricKey {
    guard raw.count == 32, let pkey = EVP_PKEY_new_raw_public_key(algorithm.nid, nil, raw, raw.count) else {
      throw CryptoError.fromQueue("import \(algorithm.name) public key")
    }
    return AsymmetricKey(pkey: pkey, algorithm: algorithm, hasPrivateKey: false)
  }

  /// Imports a raw 32-byte private key (test vectors; rehost itself only generates keys).
  public static func privateKey(_ algorithm: Algorithm, raw: [UInt8]) throws -> AsymmetricKey {
    guard raw.count == 32, let pkey = EVP_PKEY_new_raw_private_key(algorithm.nid, nil, raw, raw.count) else {
      throw CryptoError.fromQueue("import \(algorithm.name) private key")
    }
    return AsymmetricKey(pkey: pkey, algorithm: algorithm, hasPrivateKey: true)
  }

  /// The raw 32-byte public key.
  public func rawPublicKey() -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    var length = 32
    let ok = EVP_PKEY_get_raw_public_key(pkey, &out, &length)
    precondition(ok == 1 && length == 32, "raw public key export")
    return out
  }

  /// The public key as DER SubjectPublicKeyInfo (what `openssl pkey -pubout -outform DER` prints).
  public func publicKeyDER() -> [UInt8] {
    var buffer: UnsafeMutablePointer<UInt8>?
    let length = i2d_PUBKEY(pkey, &buffer)
    precondition(length > 0 && buffer != nil, "i2d_PUBKEY")
    defer { rehost_openssl_free(buffer) }
    return Array(UnsafeBufferPointer(start: buffer, count: Int(length)))
  }

  /// SHA-256 of the DER public key, lower-case hex. An auditor gets the same with
  /// `openssl pkey -pubin -in KEY.pub -outform DER | sha256sum`.
  public func fingerprint() -> String {
    Hex.encode(SHA256.hash(publicKeyDER()))
  }

  /// The public key as a "BEGIN PUBLIC KEY" PEM block.
  public func publicKeyPEM() throws -> String {
    try withMemoryBIO { (bio) throws in
      try check(PEM_write_bio_PUBKEY(bio, pkey), "PEM_write_bio_PUBKEY")
    }
  }

  /// The private key as PKCS#8 PEM, encrypted with AES-256-CBC under a PBKDF2-derived
  /// key when a passphrase is given (readable by `openssl pkey -passin`).
  public func privateKeyPEM(passphrase: [UInt8]?) throws -> String {
    precondition(hasPrivateKey)
    return try withMemoryBIO { (bio) throws in
      if var pass = passphrase {
        let result = pass.withUnsafeMutableBufferPointer { p in
          p.withMemoryRebound(to: CChar.self) { pc in
            PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), pc.baseAddress, Int32(pc.count), nil, nil)
          }
        }
        try check(result, "PEM_write_bio_PKCS8PrivateKey")
      } else {
        try check(PEM_write_bio_PKCS8PrivateKey(bio, pkey, nil, nil, 0, nil, nil), "PEM_write_bio_PKCS8PrivateKey")
      }
    }
  }

  /// Reads every "BEGIN PUBLIC KEY" block of a PEM text, in order.
  /// Text between blocks (comments) is ignored, as PEM allows.
  public static func readPublicKeys(pem: String) throws -> [AsymmetricKey] {
    try readAll(pem: pem) { bio in PEM_read_bio_PUBKEY(bio, nil, nil, nil) }
      .map { (pkey) throws in try wrap(pkey, hasPrivateKey: false) }
  }

  /// Reads every private key block of a PEM text, decrypting with `passphrase` when encrypted.
  public static func readPrivateKeys(pem: String, passphrase: [UInt8]?) throws -> [AsymmetricKey] {
    let keys: [OpaquePointer]
    if let passphrase {
      var cpass = passphrase.map { CChar(bitPattern: $0) } + [0]
      keys = try cpass.withUnsafeMutableBufferPointer { (p) throws in
        try readAll(pem: pem) { bio in PEM_read_bio_PrivateKey(bio, nil, nil, p.baseAddress) }
      }
    } else {
      // A callback that refuses, so an encrypted key fails instead of prompting on the tty.
      keys = try readAll(pem: pem) { bio in
        PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in -1 }, nil)
      }
    }
    return try keys.map { (pkey) throws in try wrap(pkey, hasPrivateKey: true) }
  }

  /// Signs `message` with Ed25519 (one-shot; Ed25519 has no streaming mode).
  public func sign(_ message: [UInt8]) throws -> [UInt8] {
    precondition(algorithm == .ed25519 && hasPrivateKey)
    guard let ctx = EVP_MD_CTX_new() else { throw CryptoError.fromQueue("EVP_MD_CTX_new") }
    defer { EVP_MD_CTX_free(ctx) }
    try check(EVP_DigestSignInit(ctx, nil, nil, nil, pkey), "Ed25519 sign init")
    var signature = [UInt8](repeating: 0, count: 64)
    var length = 64
    try check(EVP_DigestSign(ctx, &signature, &length, message, message.count), "Ed25519 sign")
    return signature
  }

  /// Verifies an Ed25519 signature. Returns false on any mismatch.
  public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
    guard algorithm == .ed25519, let ctx = EVP_MD_CTX_new() else { return false }
    defer { EVP_MD_CTX_free(ctx) }
    defer { ERR_clear_error() }
    guard EVP_DigestVerifyInit(ctx, nil, nil, nil, pkey) == 1 else { return false }
    return EVP_DigestVerify(ctx, signature, signature.count, message, message.count) == 1
  }

  /// X25519 shared secret between this private key and `peer`'s public key.
  public func sharedSecret(with peer: AsymmetricKey) throws -> [UInt8] {
    precondition(algorithm == .x25519 && peer.algorithm == .x25519 && hasPrivateKey)
    guard let ctx = EVP_PKEY_CTX_new(pkey, nil) else { throw CryptoError.fromQueue("EVP_PKEY_CTX_new") }
    defer { EVP_PKEY_CTX_free(ctx) }
    try check(EVP_PKEY_derive_init(ctx), "X25519 derive init")
    try check(EVP_PKEY_derive_set_peer(ctx, peer.pkey), "X25519 set peer")
    var secret = [UInt8](repeating: 0, count: 32)
    var length = 32
    try check(EVP_PKEY_derive(ctx, &secret, &length), "X25519 derive")
    // An all-zero secret means a low-order peer point: refuse it (RFC 7748 §6.1).
    if secret.allSatisfy({ $0 == 0 }) {
      throw CryptoError(operation: "X25519 derive", detail: "peer key is a low-order point")
    }
    return secret
  }

  // MARK: - PEM plumbing

  private static func wrap(_ pkey: OpaquePointer, hasPrivateKey: Bool) throws -> AsymmetricKey {
    switch EVP_PKEY_get_base_id(pkey) {
    case EVP_PKEY_ED25519: return AsymmetricKey(pkey: pkey, algorithm: .ed25519, hasPrivateKey: hasPrivateKey)
    case EVP_PKEY_X25519: return AsymmetricKey(pkey: pkey, algorithm: .x25519, hasPrivateKey: hasPrivateKey)
    default:
      EVP_PKEY_free(pkey)
      throw CryptoError(operation: "read key", detail: "not an Ed25519 or X25519 key")
    }
  }

  /// Splits `pem` into its PEM blocks (BEGIN to END line) and reads each with `read`.
  /// Text outside blocks (comments) is ignored, as PEM allows.
  private static func readAll(
    pem: String, _ read: (OpaquePointer) -> OpaquePointer?
  ) throws -> [OpaquePointer] {
    var keys: [OpaquePointer] = []
    do {
      for block in PEMBlock.split(pem) {
        var text = Array(block.text.utf8)
        let key: OpaquePointer? = text.withUnsafeMutableBytes { raw in
          guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
          defer { BIO_free(bio) }
          return read(bio)
        }
        guard let key else { throw CryptoError.fromQueue("read PEM key") }
        keys.append(key)
      }
      return keys
    } catch {
      keys.forEach { EVP_PKEY_free($0) }
      throw error
    }
  }

  private func withMemoryBIO(_ body: (OpaquePointer) throws -> Void) throws -> String {
    guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError.fromQueue("BIO_new") }
    defer { BIO_free(bio) }
    try body(bio)
    var pointer: UnsafeMutablePointer<CChar>?
    let length = rehost_bio_get_mem_data(bio, &pointer)
    guard let pointer, length > 0 else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: Int(length)), as: UTF8.self)
  }
}
