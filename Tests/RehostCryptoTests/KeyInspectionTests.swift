import Foundation
import RehostCrypto
import Testing

@Suite struct KeyInspectionTests {
  static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("testdata/debian-weak-sample").path

  /// The three reference keys come with the full SHA-1 of their "Modulus=..." line,
  /// computed independently (badkeys' debianopenssl collection).
  @Test func referenceFingerprintsEqualThePublishedOnes() throws {
    let published = try String(contentsOfFile: Self.sample + "/reference/fingerprints.txt", encoding: .utf8)
      .split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    #expect(published.count == 3)
    for entry in published {
      let pem = try String(contentsOfFile: Self.sample + "/reference/" + entry[0], encoding: .utf8)
      let items = KeyInspection.inspect(pem: pem)
      guard case .privateKey(let key)? = items.first?.item else {
        Issue.record("\(entry[0]) did not read as a private key")
        continue
      }
      #expect(key.algorithm == "RSA")
      #expect(key.modulusLineSHA1 == entry[1], "\(entry[0])")
      #expect(key.debianFingerprint == String(entry[1].suffix(20)))
      #expect(key.rsaExponent == 65537)
    }
  }

  @Test func identifiesBlockTypesAndLines() throws {
    let pem = try String(contentsOfFile: Self.sample + "/strong/strong-rsa2048-01.pem", encoding: .utf8)
    let key = try AsymmetricKey.generate(.ed25519)
    let text = "junk\n" + pem + "\n" + (try key.publicKeyPEM()) + (try key.privateKeyPEM(passphrase: Array("pw".utf8)))
      + "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n" + "-----BEGIN PUBLIC KEY-----\nbroken\n-----END PUBLIC KEY-----\n"
    let items = KeyInspection.inspect(pem: text)
    #expect(items.count == 5)
    #expect(items[0].line == 2)
    if case .privateKey(let k) = items[0].item { #expect(k.bits == 2048 && k.algorithm == "RSA") } else { Issue.record("rsa") }
    if case .publicKey(let k) = items[1].item { #expect(k.algorithm == "ED25519" && k.rsaModulusHex == nil) } else { Issue.record("ed") }
    #expect(items[2].item == .encryptedPrivateKey)
    #expect(items[3].item == .crl("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"))
    // The same encrypted key opens with its passphrase (the first that works), not with another.
    let opened = KeyInspection.inspect(pem: try key.privateKeyPEM(passphrase: Array("pw".utf8)), passphrases: [Array("no".utf8), Array("pw".utf8)])
    if case .privateKey(let k) = opened.first?.item { #expect(k.algorithm == "ED25519" && k.spkiSHA256 != nil) } else { Issue.record("not opened") }
    #expect(KeyInspection.inspect(pem: try key.privateKeyPEM(passphrase: Array("pw".utf8)), passphrases: [Array("no".utf8)]).first?.item
            == .undecryptablePrivateKey)
    if case .unreadable = items[4].item {} else { Issue.record("broken block should be unreadable") }
  }
}
