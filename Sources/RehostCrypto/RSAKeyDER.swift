/// The numbers of RSA keys in the DER most files hold, read here rather than through
/// OpenSSL's decoders, whose set-up, allocations and provider locks cost more than every
/// check of the key together:
///   RSAPublicKey (PKCS#1)     SEQUENCE { n INTEGER, e INTEGER }
///   SubjectPublicKeyInfo      SEQUENCE { SEQUENCE { rsaEncryption [, NULL] }, BIT STRING { RSAPublicKey } }
///   RSAPrivateKey (PKCS#1)    SEQUENCE { 0, n, e, d, p, q, dp, dq, qinv } (two primes)
///   PrivateKeyInfo (PKCS#8)   SEQUENCE { 0, SEQUENCE { rsaEncryption [, NULL] }, OCTET STRING { RSAPrivateKey } [, [0] attributes] }
/// Strictly: DER only (minimal lengths and integers, no negative numbers), nothing before,
/// after or between. Anything else returns nil and goes through OpenSSL, which then
/// reads it or says why not: this path may refuse what is valid, never accept what is not
/// (the fuzz target `keys` compares the two).
enum RSAKeyDER {
  /// n and e (big-endian magnitudes), and p and q for a private key.
  struct Numbers {
    var modulus: UnsafeBufferPointer<UInt8>
    var exponent: UnsafeBufferPointer<UInt8>
    var primes: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>)?
  }

  static func publicKey(_ der: UnsafeBufferPointer<UInt8>, spki: Bool) -> Numbers? {
    var outer = DERReader(der)
    guard let body = outer.element(0x30), outer.isAtEnd else { return nil }
    var reader = DERReader(body)
    if spki {
      guard let algorithm = reader.element(0x30), isRSAEncryption(algorithm),
            let bits = reader.element(0x03), reader.isAtEnd, bits.first == 0 else { return nil }
      return publicKey(UnsafeBufferPointer(rebasing: bits.dropFirst()), spki: false)
    }
    guard let n = reader.positiveInteger(), let e = reader.positiveInteger(), reader.isAtEnd else { return nil }
    return Numbers(modulus: n, exponent: e)
  }

  static func privateKey(_ der: UnsafeBufferPointer<UInt8>, pkcs8: Bool) -> Numbers? {
    var outer = DERReader(der)
    guard let body = outer.element(0x30), outer.isAtEnd else { return nil }
    var reader = DERReader(body)
    guard reader.integer()?.isEmpty == true else { return nil }  // version 0
    if pkcs8 {
      guard let algorithm = reader.element(0x30), isRSAEncryption(algorithm), let key = reader.element(0x04) else { return nil }
      if !reader.isAtEnd { guard reader.element(0xA0) != nil, reader.isAtEnd else { return nil } }
      return privateKey(key, pkcs8: false)
    }
    guard let n = reader.positiveInteger(), let e = reader.positiveInteger(), reader.integer() != nil,
          let p = reader.positiveInteger(), let q = reader.positiveInteger(),
          reader.integer() != nil, reader.integer() != nil, reader.integer() != nil, reader.isAtEnd else { return nil }
    return Numbers(modulus: n, exponent: e, primes: (p, q))
  }

  /// AlgorithmIdentifier { 1.2.840.113549.1.1.1 } with NULL parameters or none.
  static func isRSAEncryption(_ algorithm: UnsafeBufferPointer<UInt8>) -> Bool {
    var reader = DERReader(algorithm)
    guard let oid = reader.element(0x06), oid.elementsEqual([0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]) else { return false }
    if reader.isAtEnd { return true }
    return reader.element(0x05)?.isEmpty == true && reader.isAtEnd
  }
}

/// Reads DER elements one after another from a buffer.
struct DERReader {
  private let bytes: UnsafeBufferPointer<UInt8>
  private var offset = 0

  init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  var isAtEnd: Bool { offset == bytes.count }

  /// The content of the next element if its tag is `tag` (one byte: no high tag numbers);
  /// nil if it is not, or its length is not DER (indefinite, not minimal, past the end).
  mutating func element(_ tag: UInt8) -> UnsafeBufferPointer<UInt8>? {
    guard offset + 2 <= bytes.count, bytes[offset] == tag, tag & 0x1F != 0x1F else { return nil }
    var position = offset + 1
    var length = Int(bytes[position])
    position += 1
    if length >= 0x80 {
      let count = length & 0x7F
      // 1 to 3 length bytes, the first not zero, and the long form only where the short will not do.
      guard count >= 1, count <= 3, position + count <= bytes.count, bytes[position] != 0 else { return nil }
      length = bytes[position..<(position + count)].reduce(0) { $0 << 8 | Int($1) }
      guard length >= 0x80 else { return nil }
      position += count
    }
    guard length <= bytes.count - position else { return nil }
    offset = position + length
    return UnsafeBufferPointer(rebasing: bytes[position..<offset])
  }

  /// A non-negative INTEGER, minimally encoded: its magnitude (empty for 0).
  mutating func integer() -> UnsafeBufferPointer<UInt8>? {
    guard let content = element(0x02), let first = content.first, first & 0x80 == 0 else { return nil }
    if first == 0 && content.count > 1 {
      guard content[1] & 0x80 != 0 else { return nil }  // a zero byte that was not needed
      return UnsafeBufferPointer(rebasing: content.dropFirst())
    }
    return first == 0 ? UnsafeBufferPointer(rebasing: content.dropFirst()) : content
  }

  /// An INTEGER above zero: its magnitude.
  mutating func positiveInteger() -> UnsafeBufferPointer<UInt8>? {
    guard let magnitude = integer(), !magnitude.isEmpty else { return nil }
    return magnitude
  }
}
