import RehostCrypto
import Testing

@Suite struct KeyDerivationTests {
  // RFC 5869, test case 1.
  @Test func hkdfMatchesRFC5869Case1() throws {
    let okm = try KeyDerivation.hkdfSHA256(
      ikm: [UInt8](repeating: 0x0b, count: 22), salt: Hex.decode("000102030405060708090a0b0c")!,
      info: Hex.decode("f0f1f2f3f4f5f6f7f8f9")!, length: 42)
    #expect(Hex.encode(okm) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
  }

  // RFC 5869, test case 3: empty salt and info.
  @Test func hkdfMatchesRFC5869Case3WithEmptySaltAndInfo() throws {
    let okm = try KeyDerivation.hkdfSHA256(ikm: [UInt8](repeating: 0x0b, count: 22), salt: [], info: [], length: 42)
    #expect(Hex.encode(okm) == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
  }

  // RFC 4231, test case 2.
  @Test func hmacMatchesRFC4231Case2() throws {
    let mac = try KeyDerivation.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
    #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
  }

  // RFC 7914 §12, second vector (N = 1024, r = 8, p = 16) is p != 1; the first has N = 16.
  // Our scrypt fixes r = 8, p = 1, so check against OpenSSL's own CLI output instead.
  @Test func scryptMatchesOpenSSLCLI() throws {
    let key = try KeyDerivation.scrypt(passphrase: Array("password".utf8), salt: Array("NaCl".utf8), logN: 10, length: 32)
    // openssl kdf -keylen 32 -kdfopt pass:password -kdfopt salt:NaCl -kdfopt n:1024 -kdfopt r:8 -kdfopt p:1 SCRYPT
    #expect(Hex.encode(key) == "27b418c674c769d12501fbb1f53bac32df6514c0f28d043872b148b348961a79")
  }
}
