import RehostBase

/// What a post-move check needs to know about a public key.
public struct KeyFacts: Sendable, Equatable {
  /// OpenSSL's name: "RSA", "EC", "ED25519", "DSA", ...
  public let algorithm: String
  public let bits: Int
  /// RSA modulus as `openssl rsa -noout -modulus` prints it: upper-case hex, no leading zero.
  public let rsaModulusHex: String?
  /// RSA public exponent (nil if it does not fit 64 bits or the key is not RSA).
  public let rsaExponent: UInt64?
  /// SHA-256 of the DER public key, for keys other than RSA.
  public var spkiSHA256: String?
  /// DSA's p, q, g and public value y, big-endian (for the Debian DSA lists).
  public var dsaNumbers: [[UInt8]]?
  /// An RSA private key's two primes p and q, minimal big-endian bytes: its checks use
  /// them rather than searching for them.
  public var rsaPrimes: [[UInt8]]?
  /// The primes in upper-case hex, whole bytes (as BN_bn2hex spells them).
  public var rsaPrimesHex: [String]? { rsaPrimes?.map { Self.upperHex($0, wholeBytes: true) } }

  /// Equal for a private key and the certificates or public keys that carry its public half.
  public var identity: String {
    if let rsaModulusHex { return "RSA \(rsaModulusHex) \(rsaExponent.map(String.init) ?? "?")" }
    return "\(algorithm) \(spkiSHA256 ?? "?")"
  }

  /// The Debian weak-key fingerprint (openssl-blacklist): the last 20 hex digits of
  /// SHA-1("Modulus=" + HEX + "\n"). nil for non-RSA keys.
  public var debianFingerprint: String? { modulusLineSHA1.map { String($0.suffix(20)) } }

  /// The modulus as minimal big-endian bytes (badkeys hashes these).
  public let rsaModulusBytes: [UInt8]?

  /// An RSA key from its modulus (big-endian, leading zeros allowed) and exponent.
  init(rsaModulus: [UInt8], exponent: UInt64?) {
    let bytes = rsaModulus.drop { $0 == 0 }
    algorithm = "RSA"
    bits = bytes.first.map { (bytes.count - 1) * 8 + (8 - $0.leadingZeroBitCount) } ?? 0
    rsaModulusBytes = bytes.isEmpty ? nil : Array(bytes)
    rsaModulusHex = bytes.isEmpty ? nil : Self.upperHex(bytes, wholeBytes: false)
    rsaExponent = exponent
  }

  /// A key other than RSA.
  init(algorithm: String, bits: Int, spkiSHA256: String?, dsaNumbers: [[UInt8]]?) {
    self.algorithm = algorithm
    self.bits = bits
    rsaModulusHex = nil
    rsaModulusBytes = nil
    rsaExponent = nil
    self.spkiSHA256 = spkiSHA256
    self.dsaNumbers = dsaNumbers
  }

  /// Upper-case hex; without a leading zero digit as `openssl rsa -modulus` prints it, or
  /// in whole bytes as BN_bn2hex does.
  static func upperHex<Bytes: Collection<UInt8>>(_ bytes: Bytes, wholeBytes: Bool) -> String {
    let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
      if wholeBytes || !(out.isEmpty && b >> 4 == 0) { out.append(digits[Int(b >> 4)]) }
      out.append(digits[Int(b & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// SHA-1 of the text "Modulus=" + HEX + "\n", in full (hex).
  public var modulusLineSHA1: String? {
    rsaModulusHex.map { Hex.encode(Digest.sha1(Array("Modulus=\($0)\n".utf8))) }
  }
}

/// What a post-move check needs to know about a certificate.
public struct CertificateFacts: Sendable, Equatable {
  public let subject: String
  public let issuer: String
  public let notBefore: Int64
  public let notAfter: Int64
  /// e.g. "sha256WithRSAEncryption", "md5WithRSAEncryption".
  public let signatureAlgorithm: String
  public let key: KeyFacts?
  /// Serial number, upper-case hex as in `index.txt` (at least two digits).
  public let serialHex: String
  /// basicConstraints CA:TRUE.
  public var isCA = false
  /// Subject and issuer names are equal (a root, or a self-signed leaf).
  public var selfIssued = false
  /// The certificate itself, DER (for chain verification).
  public var der: [UInt8] = []
}

/// What a CA consistency check needs to know about a CRL.
public struct CRLFacts: Sendable, Equatable {
  public let issuer: String
  public let lastUpdate: Int64
  /// nil when the CRL has no next update.
  public let nextUpdate: Int64?
  /// Revoked serial numbers, upper-case hex.
  public let revokedSerials: Set<String>
  /// Whether the signature verifies under the issuer certificate given to ``KeyInspection/crl(pem:issuerPEM:)``.
  public let signatureVerifies: Bool?
}

/// One PEM block, identified.
public enum PEMItem: Sendable, Equatable {
  case privateKey(KeyFacts)
  case publicKey(KeyFacts)
  case certificate(CertificateFacts)
  /// The public key of a certificate signing request.
  case requestKey(KeyFacts)
  /// A passphrase-protected private key: cannot be inspected without the passphrase.
  case encryptedPrivateKey
  /// A passphrase-protected private key that none of the passphrases given opens.
  case undecryptablePrivateKey
  /// A certificate revocation list, as its PEM block (read with ``KeyInspection/crl(pem:issuerPEM:)``).
  case crl(String)
  /// A PEM type we do not inspect (parameters...), by its label.
  case other(String)
  /// A block that claims a known type but does not parse.
  case unreadable(String, reason: String)
}
