import COpenSSL
import RehostBase
import Glibc

/// Reads keys and certificates through OpenSSL, for the post-move checks.
public enum KeyInspection {
  /// Identifies every PEM block in `text`, with the 1-based line its BEGIN is on.
  /// Encrypted private keys are opened with the first of `passphrases` that works.
  public static func inspect(pem text: String, passphrases: [[UInt8]] = []) -> [(line: Int, item: PEMItem)] {
    PEMBlock.split(text).map { ($0.line, item(label: $0.label, pem: $0.text, passphrases: passphrases)) }
  }

  /// Identifies a DER file: a certificate, a public key (SPKI), a private key (PKCS#8 or
  /// PKCS#1) or a certificate request; nil when it is none of these.
  public static func inspect(der: [UInt8]) -> PEMItem? {
    defer { ERR_clear_error() }
    func attempt<T>(_ body: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> T?) -> T? {
      der.withUnsafeBufferPointer { buffer in
        var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
        return body(&pointer, buffer.count)
      }
    }
    if let cert = attempt({ d2i_X509(nil, $0, $1) }) {
      defer { X509_free(cert) }
      return .certificate(certificateFacts(cert))
    }
    if let pkey = attempt({ d2i_PUBKEY(nil, $0, $1) }) {
      defer { EVP_PKEY_free(pkey) }
      return .publicKey(keyFacts(pkey))
    }
    if let pkey = attempt({ d2i_AutoPrivateKey(nil, $0, $1) }) {
      defer { EVP_PKEY_free(pkey) }
      return .privateKey(keyFacts(pkey))
    }
    if let request = attempt({ d2i_X509_REQ(nil, $0, $1) }) {
      defer { X509_REQ_free(request) }
      return X509_REQ_get0_pubkey(request).map { .requestKey(keyFacts($0)) }
    }
    return nil
  }

  static func item(label: String, pem: String, passphrases: [[UInt8]] = []) -> PEMItem {
    var raw = Array(pem.utf8)
    let bytes = raw
    return raw.withUnsafeMutableBytes { raw -> PEMItem in
      guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return .unreadable(label, reason: "out of memory") }
      defer {
        BIO_free(bio)
        ERR_clear_error()
      }
      switch label {
      case "ENCRYPTED PRIVATE KEY":
        return decrypt(bio, passphrases)
      case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY":
        if pem.containsBytes("Proc-Type: 4,ENCRYPTED") { return decrypt(bio, passphrases) }
        if label == "PRIVATE KEY" || label == "RSA PRIVATE KEY", let facts = rsaPrivateKeyFacts(bio, pkcs8: label == "PRIVATE KEY") {
          return .privateKey(facts)
        }
        rehost_bio_reset(bio)
        guard let pkey = PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in -1 }, nil) else {
          return .unreadable(label, reason: CryptoError.fromQueue("read").detail)
        }
        defer { EVP_PKEY_free(pkey) }
        return .privateKey(keyFacts(pkey))
      case "PUBLIC KEY", "RSA PUBLIC KEY":
        if let facts = rsaPublicKeyFacts(bio, spki: label == "PUBLIC KEY") { return .publicKey(facts) }
        rehost_bio_reset(bio)
        if label == "RSA PUBLIC KEY" {
          // PKCS#1 public keys: only the decoder API reads them without deprecated calls.
          guard let pkey = decode(pem: bytes, structure: "type-specific", type: "RSA", selection: 0) else {
            return .unreadable(label, reason: CryptoError.fromQueue("read").detail)
          }
          defer { EVP_PKEY_free(pkey) }
          return .publicKey(keyFacts(pkey))
        }
        guard let pkey = PEM_read_bio_PUBKEY(bio, nil, nil, nil) else {
          return .unreadable(label, reason: CryptoError.fromQueue("read").detail)
        }
        defer { EVP_PKEY_free(pkey) }
        return .publicKey(keyFacts(pkey))
      case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
        guard let request = PEM_read_bio_X509_REQ(bio, nil, nil, nil) else {
          return .unreadable(label, reason: CryptoError.fromQueue("read").detail)
        }
        defer { X509_REQ_free(request) }
        guard let pkey = X509_REQ_get0_pubkey(request) else { return .unreadable(label, reason: "no public key") }
        return .requestKey(keyFacts(pkey))
      case "X509 CRL":
        return .crl(pem)
      case "CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE":
        guard let cert = PEM_read_bio_X509_AUX(bio, nil, nil, nil) else {
          return .unreadable(label, reason: CryptoError.fromQueue("read").detail)
        }
        defer { X509_free(cert) }
        return .certificate(certificateFacts(cert))
      default:
        return .other(label)
      }
    }
  }

  /// An encrypted private key (PKCS#8 or the legacy PEM encryption), opened with the first
  /// passphrase that works.
  static func decrypt(_ bio: OpaquePointer, _ passphrases: [[UInt8]]) -> PEMItem {
    guard !passphrases.isEmpty else { return .encryptedPrivateKey }
    for passphrase in passphrases {
      rehost_bio_reset(bio)
      // With no callback, OpenSSL takes the last argument as the passphrase (a C string).
      let pkey = (passphrase + [0]).withUnsafeBytes { raw in
        PEM_read_bio_PrivateKey(bio, nil, nil, UnsafeMutableRawPointer(mutating: raw.baseAddress))
      }
      ERR_clear_error()
      if let pkey {
        defer { EVP_PKEY_free(pkey) }
        return .privateKey(keyFacts(pkey))
      }
    }
    return .undecryptablePrivateKey
  }

  /// Reads a key with OpenSSL 3's decoders (input "PEM"), for structures the PEM_read
  /// functions no longer cover.
  static func decode(pem: [UInt8], input: String = "PEM", structure: String, type: String, selection: Int32) -> OpaquePointer? {
    var pkey: OpaquePointer?
    guard let ctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, input, structure, type, selection, nil, nil) else { return nil }
    defer { OSSL_DECODER_CTX_free(ctx) }
    var data: UnsafePointer<UInt8>? = nil
    var length = pem.count
    let ok = pem.withUnsafeBufferPointer { buffer -> Int32 in
      data = buffer.baseAddress
      return OSSL_DECODER_from_data(ctx, &data, &length)
    }
    return ok == 1 ? pkey : nil
  }

  /// PKCS#1 RSAPublicKey DER through OpenSSL's decoders: what the fast path is compared with.
  package static func decodedRSAPublicKey(der: [UInt8]) -> KeyFacts? {
    defer { ERR_clear_error() }
    guard let pkey = decode(pem: der, input: "DER", structure: "type-specific", type: "RSA", selection: 0) else { return nil }
    defer { EVP_PKEY_free(pkey) }
    return keyFacts(pkey)
  }

  /// The fast path for RSA public keys (PKCS#1 or SPKI): nil for anything else, which
  /// then goes through OpenSSL's decoders.
  static func rsaPublicKeyFacts(_ bio: OpaquePointer, spki: Bool) -> KeyFacts? {
    withPEMBody(bio) { data, length in rsaPublicKeyFacts(der: UnsafeBufferPointer(start: data, count: length), spki: spki) }
  }

  package static func rsaPublicKeyFacts(der: UnsafeBufferPointer<UInt8>, spki: Bool) -> KeyFacts? {
    RSAKeyDER.publicKey(der, spki: spki).map { KeyFacts(rsaModulus: Array($0.modulus), exponent: word($0.exponent)) }
  }

  /// The DER inside the next PEM block of `bio`, handed to `body`; wiped before it is
  /// freed, as it may be a private key.
  static func withPEMBody<T>(_ bio: OpaquePointer, _ body: (UnsafeMutablePointer<UInt8>, Int) -> T?) -> T? {
    var pem: UnsafeMutablePointer<CChar>?
    let pemLength = rehost_bio_get_mem_data(bio, &pem)
    if pemLength > 0, let pem, let result = PEMBlock.withDER(UnsafeRawBufferPointer(start: pem, count: pemLength), body) {
      return result
    }
    var name: UnsafeMutablePointer<CChar>?, header: UnsafeMutablePointer<CChar>?, data: UnsafeMutablePointer<UInt8>?
    var length = 0
    guard PEM_read_bio(bio, &name, &header, &data, &length) == 1, let data else { return nil }
    defer {
      rehost_openssl_free(name)
      rehost_openssl_free(header)
      OPENSSL_cleanse(data, length)
      rehost_openssl_free(data)
    }
    return body(data, length)
  }

  /// The fast path for RSA private keys (PKCS#1 or PKCS#8, two primes): nil for anything
  /// else, which then goes through OpenSSL's decoders.
  static func rsaPrivateKeyFacts(_ bio: OpaquePointer, pkcs8: Bool) -> KeyFacts? {
    withPEMBody(bio) { data, length in rsaPrivateKeyFacts(der: UnsafeBufferPointer(start: data, count: length), pkcs8: pkcs8) }
  }

  package static func rsaPrivateKeyFacts(der: UnsafeBufferPointer<UInt8>, pkcs8: Bool) -> KeyFacts? {
    guard let numbers = RSAKeyDER.privateKey(der, pkcs8: pkcs8), let (p, q) = numbers.primes else { return nil }
    var facts = KeyFacts(rsaModulus: Array(numbers.modulus), exponent: word(numbers.exponent))
    facts.rsaPrimes = [Array(p.drop { $0 == 0 }), Array(q.drop { $0 == 0 })]
    return facts
  }

  /// A big-endian magnitude as a word, nil past 64 bits.
  static func word(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
    bytes.count <= 8 ? bytes.reduce(0) { $0 << 8 | UInt64($1) } : nil
  }

  /// A BIGNUM's magnitude, minimal big-endian bytes.
  static func bytes(_ bn: OpaquePointer) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: Int((BN_num_bits(bn) + 7) / 8))
    BN_bn2bin(bn, &out)
    return out
  }

  static func rsaFacts(n: OpaquePointer, e: OpaquePointer) -> KeyFacts {
    let exponent = BN_num_bits(e) <= 64 ? UInt64(BN_get_word(e)) : nil
    return KeyFacts(rsaModulus: bytes(n), exponent: exponent)
  }

  static func keyFacts(_ pkey: OpaquePointer) -> KeyFacts {
    let name = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
    if EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA {
      var n: OpaquePointer?, e: OpaquePointer?
      defer {
        BN_free(n)
        BN_free(e)
      }
      if EVP_PKEY_get_bn_param(pkey, paramName("n"), &n) == 1, EVP_PKEY_get_bn_param(pkey, paramName("e"), &e) == 1, let n, let e {
        var facts = rsaFacts(n: n, e: e)
        // A private key's primes (absent from a public key; a multi-prime key has more).
        var p: OpaquePointer?, q: OpaquePointer?, r: OpaquePointer?
        defer {
          BN_clear_free(p)
          BN_clear_free(q)
          BN_clear_free(r)
        }
        if EVP_PKEY_get_bn_param(pkey, paramName("rsa-factor1"), &p) == 1, EVP_PKEY_get_bn_param(pkey, paramName("rsa-factor2"), &q) == 1,
           EVP_PKEY_get_bn_param(pkey, paramName("rsa-factor3"), &r) != 1, let p, let q {
          facts.rsaPrimes = [bytes(p), bytes(q)]
        }
        ERR_clear_error()
        return facts
      }
    }
    var dsa: [[UInt8]]?
    if EVP_PKEY_get_base_id(pkey) == EVP_PKEY_DSA {
      let names: [StaticString] = ["p", "q", "g", "pub"]
      let numbers = names.compactMap { name -> [UInt8]? in
        var bn: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, paramName(name), &bn) == 1, let bn else { return nil }
        defer { BN_free(bn) }
        var bytes = [UInt8](repeating: 0, count: Int((BN_num_bits(bn) + 7) / 8))
        BN_bn2bin(bn, &bytes)
        return bytes
      }
      if numbers.count == 4 { dsa = numbers }
    }
    var spki: String?
    do {
      var der: UnsafeMutablePointer<UInt8>?
      let length = i2d_PUBKEY(pkey, &der)
      if length > 0, let der {
        spki = Hex.encode(SHA256.hash(Array(UnsafeBufferPointer(start: der, count: Int(length)))))
        rehost_openssl_free(der)
      }
    }
    return KeyFacts(algorithm: name.uppercased(), bits: Int(EVP_PKEY_get_bits(pkey)), spkiSHA256: spki, dsaNumbers: dsa)
  }

  static func certificateFacts(_ cert: OpaquePointer) -> CertificateFacts {
    func name(_ n: OpaquePointer?) -> String {
      guard let n, let text = X509_NAME_oneline(n, nil, 0) else { return "" }
      defer { rehost_openssl_free(text) }
      return String(cString: text)
    }
    func seconds(_ t: UnsafePointer<ASN1_TIME>?) -> Int64 { epochSeconds(t) ?? 0 }
    let nid = X509_get_signature_nid(cert)
    let key = X509_get0_pubkey(cert).map { keyFacts($0) }
    var facts = CertificateFacts(
      subject: name(X509_get_subject_name(cert)), issuer: name(X509_get_issuer_name(cert)),
      notBefore: seconds(X509_get0_notBefore(cert)), notAfter: seconds(X509_get0_notAfter(cert)),
      signatureAlgorithm: OBJ_nid2ln(nid).map { String(cString: $0) } ?? "unknown", key: key,
      serialHex: serialHex(X509_get0_serialNumber(cert)))
    facts.isCA = X509_check_ca(cert) != 0
    facts.selfIssued = facts.subject == facts.issuer
    var der: UnsafeMutablePointer<UInt8>?
    let length = i2d_X509(cert, &der)
    if length > 0, let der {
      facts.der = Array(UnsafeBufferPointer(start: der, count: Int(length)))
      rehost_openssl_free(der)
    }
    return facts
  }

  /// An ASN.1 time as seconds since the epoch (UTC).
  static func epochSeconds(_ t: UnsafePointer<ASN1_TIME>?) -> Int64? {
    var tm = Glibc.tm()
    guard let t, ASN1_TIME_to_tm(t, &tm) == 1 else { return nil }
    return Int64(timegm(&tm))
  }

  /// Upper-case hex of an ASN.1 integer, as `openssl ca` writes serials (even digit count).
  static func serialHex(_ serial: UnsafePointer<ASN1_INTEGER>?) -> String {
    guard let serial, let bn = ASN1_INTEGER_to_BN(serial, nil) else { return "" }
    defer { BN_free(bn) }
    guard let hex = BN_bn2hex(bn) else { return "" }
    defer { rehost_openssl_free(hex) }
    return String(cString: hex)
  }

  /// Reads the first CRL in `pem`; verifies its signature when the issuer's certificate
  /// (DER) is given.
  public static func crl(pem: String, issuerDER: [UInt8]) -> CRLFacts? {
    var encoded = [UInt8](repeating: 0, count: 4 * ((issuerDER.count + 2) / 3) + 1)
    let length = EVP_EncodeBlock(&encoded, issuerDER, Int32(issuerDER.count))
    let base64 = String(decoding: encoded[0..<Int(max(0, length))], as: UTF8.self)
    let lines = stride(from: 0, to: base64.count, by: 64).map { String(base64.dropFirst($0).prefix(64)) }
    return crl(pem: pem, issuerPEM: "-----BEGIN CERTIFICATE-----\n" + lines.joined(separator: "\n") + "\n-----END CERTIFICATE-----\n")
  }

  /// Reads the first CRL in `pem`; verifies its signature when the issuer's certificate is given.
  public static func crl(pem: String, issuerPEM: String?) -> CRLFacts? {
    func read<T>(_ text: String, _ body: (OpaquePointer) -> T?) -> T? {
      var bytes = Array(text.utf8)
      return bytes.withUnsafeMutableBytes { raw in
        guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
        defer { BIO_free(bio); ERR_clear_error() }
        return body(bio)
      }
    }
    guard let crl = read(pem, { PEM_read_bio_X509_CRL($0, nil, nil, nil) }) else { return nil }
    defer { X509_CRL_free(crl) }
    var verified: Bool?
    if let issuerPEM, let issuer = read(issuerPEM, { PEM_read_bio_X509($0, nil, nil, nil) }) {
      defer { X509_free(issuer) }
      if let key = X509_get0_pubkey(issuer) { verified = X509_CRL_verify(crl, key) == 1 }
      ERR_clear_error()
    }
    var revoked = Set<String>()
    if let list = X509_CRL_get_REVOKED(crl) {
      for i in 0..<OPENSSL_sk_num(list) {
        guard let raw = OPENSSL_sk_value(list, i) else { continue }
        let entry = OpaquePointer(raw)
        revoked.insert(serialHex(X509_REVOKED_get0_serialNumber(entry)))
      }
    }
    let issuerName: String = {
      guard let n = X509_CRL_get_issuer(crl), let text = X509_NAME_oneline(n, nil, 0) else { return "" }
      defer { rehost_openssl_free(text) }
      return String(cString: text)
    }()
    return CRLFacts(issuer: issuerName, lastUpdate: epochSeconds(X509_CRL_get0_lastUpdate(crl)) ?? 0,
                    nextUpdate: epochSeconds(X509_CRL_get0_nextUpdate(crl)), revokedSerials: revoked, signatureVerifies: verified)
  }
}
