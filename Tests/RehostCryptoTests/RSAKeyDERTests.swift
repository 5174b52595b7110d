import Foundation
@testable import RehostCrypto
import Testing

/// The RSA key fast path reads DER itself. It must read real keys as OpenSSL does, and
/// refuse (leaving them to OpenSSL) encodings that are not strict DER: never accept
/// what OpenSSL would not read, or read it differently.
@Suite struct RSAKeyDERTests {
  /// A fresh key in the four DER forms, made by the openssl command.
  struct Forms {
    let pkcs1, pkcs8, spki, publicPKCS1: [UInt8]
  }

  static func forms(bits: Int) throws -> Forms {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rehost-der-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let script = """
      set -e
      cd '\(dir)'
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:\(bits) -out k.pem 2>/dev/null
      openssl rsa -in k.pem -traditional -outform DER -out pkcs1.der 2>/dev/null
      openssl pkcs8 -topk8 -nocrypt -in k.pem -outform DER -out pkcs8.der
      openssl pkey -in k.pem -pubout -outform DER -out spki.der
      openssl rsa -in k.pem -RSAPublicKey_out -outform DER -out public-pkcs1.der 2>/dev/null
      """
    #expect(try Shell.run(script) == 0)
    let read = { (name: String) in [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))) }
    return Forms(pkcs1: try read("pkcs1.der"), pkcs8: try read("pkcs8.der"), spki: try read("spki.der"),
                 publicPKCS1: try read("public-pkcs1.der"))
  }

  func fast(private der: [UInt8], pkcs8: Bool) -> KeyFacts? {
    der.withUnsafeBufferPointer { KeyInspection.rsaPrivateKeyFacts(der: $0, pkcs8: pkcs8) }
  }

  func fast(public der: [UInt8], spki: Bool) -> KeyFacts? {
    der.withUnsafeBufferPointer { KeyInspection.rsaPublicKeyFacts(der: $0, spki: spki) }
  }

  /// What OpenSSL's decoders make of the DER.
  func decoded(_ der: [UInt8]) -> KeyFacts? {
    switch KeyInspection.inspect(der: der) {
    case .privateKey(let facts)?, .publicKey(let facts)?: return facts
    default: return nil
    }
  }

  @Test(arguments: [512, 1024, 2048, 3072])
  func realKeysReadAsOpenSSLReadsThem(bits: Int) throws {
    let forms = try Self.forms(bits: bits)
    let one = try #require(fast(private: forms.pkcs1, pkcs8: false))
    #expect(fast(private: forms.pkcs8, pkcs8: true) == one)
    #expect(decoded(forms.pkcs1) == one && decoded(forms.pkcs8) == one)
    #expect(one.bits == bits && one.rsaPrimesHex?.count == 2)
    let spki = try #require(fast(public: forms.spki, spki: true))
    #expect(fast(public: forms.publicPKCS1, spki: false) == spki)
    #expect(spki.identity == one.identity && decoded(forms.spki) == spki)
    #expect(KeyInspection.decodedRSAPublicKey(der: forms.publicPKCS1) == spki)
    // Each form only as itself.
    #expect(fast(private: forms.pkcs1, pkcs8: true) == nil && fast(private: forms.pkcs8, pkcs8: false) == nil)
    #expect(fast(public: forms.spki, spki: false) == nil && fast(public: forms.publicPKCS1, spki: true) == nil)
    #expect(fast(private: forms.spki, pkcs8: true) == nil && fast(public: forms.pkcs1, spki: false) == nil)
  }

  /// Encodings OpenSSL may read but that are not strict DER, or not this structure.
  @Test func whatIsNotStrictDERIsRefused() throws {
    let pkcs1 = try Self.forms(bits: 512).pkcs1
    #expect(fast(private: pkcs1, pkcs8: false) != nil)
    // The outer SEQUENCE's length in a longer form than needed; indefinite.
    let bodyLength = pkcs1.count - 4  // 30 82 HH LL for a 512-bit key
    #expect(pkcs1[1] == 0x82)
    #expect(fast(private: [0x30, 0x83, 0x00] + pkcs1[2...], pkcs8: false) == nil)
    #expect(fast(private: [0x30, 0x80] + pkcs1[4...] + [0, 0], pkcs8: false) == nil)
    // Bytes after the key; a key cut short.
    #expect(fast(private: pkcs1 + [0], pkcs8: false) == nil)
    #expect(fast(private: Array(pkcs1.dropLast()), pkcs8: false) == nil)
    // version 1 (multi-prime); an integer with a needless leading zero; a negative one.
    var version1 = pkcs1
    version1[6] = 1
    #expect(fast(private: version1, pkcs8: false) == nil)
    func withVersion(_ integer: [UInt8]) -> [UInt8] {
      let body = integer + pkcs1[7...]
      return [0x30, 0x82, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }
    #expect(bodyLength == pkcs1.count - 4 && fast(private: withVersion([0x02, 0x01, 0x00]), pkcs8: false) != nil)
    #expect(fast(private: withVersion([0x02, 0x02, 0x00, 0x00]), pkcs8: false) == nil)
    #expect(fast(private: withVersion([0x02, 0x01, 0xFF]), pkcs8: false) == nil)
    #expect(fast(private: withVersion([0x02, 0x00]), pkcs8: false) == nil)
    // A public exponent of 0 or -1.
    let e = try #require((0..<(pkcs1.count - 5)).first { pkcs1[$0..<$0 + 5] == [0x02, 0x03, 0x01, 0x00, 0x01] })
    var zero = pkcs1
    zero.replaceSubrange(e..<e + 5, with: [0x02, 0x03, 0x00, 0x00, 0x00])
    #expect(fast(private: zero, pkcs8: false) == nil)
    // Another algorithm in SPKI (the EC OID), parameters that are not NULL.
    let spki = try Self.forms(bits: 512).spki
    let oid: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
    let at = try #require((0..<(spki.count - oid.count)).first { Array(spki[$0..<$0 + oid.count]) == oid })
    var other = spki
    other[at + 10] = 0x0B  // sha256WithRSAEncryption, not a key algorithm
    #expect(fast(public: other, spki: true) == nil)
    var parameters = spki
    parameters[at + 11] = 0x04  // OCTET STRING instead of NULL
    #expect(fast(public: parameters, spki: true) == nil)
  }

  /// Random mutations of real keys in every form: what the fast path reads, OpenSSL reads
  /// the same (and most mutations are refused by both).
  @Test func mutatedKeysAreReadAsOpenSSLReadsThemOrRefused() throws {
    let forms = try Self.forms(bits: 512)
    var generator = SystemRandomNumberGenerator()
    var accepted = 0
    for round in 0..<4000 {
      var der = [forms.pkcs1, forms.pkcs8, forms.spki, forms.publicPKCS1][round % 4]
      for _ in 0..<Int.random(in: 1...3, using: &generator) {
        let at = Int.random(in: 0..<der.count, using: &generator)
        switch Int.random(in: 0..<4, using: &generator) {
        case 0: der[at] = UInt8.random(in: 0...255, using: &generator)
        case 1: der[at] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
        case 2: der.remove(at: at)
        default: der.insert(UInt8.random(in: 0...255, using: &generator), at: at)
        }
        if der.isEmpty { der = [0] }
      }
      // PKCS#1 public keys are read by OpenSSL's decoder API, the rest by inspect(der:).
      let pairs = [(fast(private: der, pkcs8: false), decoded), (fast(private: der, pkcs8: true), decoded),
                   (fast(public: der, spki: true), decoded), (fast(public: der, spki: false), KeyInspection.decodedRSAPublicKey)]
      for case let (facts?, openssl) in pairs {
        accepted += 1
        #expect(openssl(der) == facts, "round \(round): \(Hex.encode(der))")
      }
    }
    #expect(accepted > 100)  // mutations of integers' values: still keys, and compared
  }
}
