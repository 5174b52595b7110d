import Foundation
import RehostBase
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

/// The fast path for RSA private keys reads what OpenSSL's decoders read.
@Suite struct PrivateKeyFastPathTests {
  @Test("PKCS#1 and PKCS#8 RSA private keys: the same facts as through OpenSSL's decoders, with their primes")
  func sameFactsAsTheDecoders() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rehost-fastpath-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let script = """
      set -e
      cd '\(dir)'
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out pkcs8.pem 2>/dev/null
      openssl rsa -in pkcs8.pem -traditional -out pkcs1.pem 2>/dev/null
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1536 -pkeyopt rsa_keygen_primes:3 -out multi.pem 2>/dev/null
      openssl rsa -in pkcs8.pem -text -noout | sed -n '/^prime1:/,/^prime2:/p' | grep -v prime | tr -d ' :\\n' > p.hex
      """
    #expect(try Shell.run(script) == 0)
    let read = { (name: String) in try String(contentsOfFile: dir + "/" + name, encoding: .utf8) }
    guard case .privateKey(let eight)? = KeyInspection.inspect(pem: try read("pkcs8.pem")).first?.item,
          case .privateKey(let one)? = KeyInspection.inspect(pem: try read("pkcs1.pem")).first?.item,
          case .publicKey(let decoded)? = KeyInspection.inspect(pem: try AsymmetricKeyPEM.publicHalf(of: try read("pkcs8.pem"))).first?.item else {
      Issue.record("did not read as keys")
      return
    }
    #expect(eight == one)
    #expect(eight.identity == decoded.identity && eight.bits == 1024 && eight.rsaExponent == 65537)
    let p = try read("p.hex").uppercased().drop { $0 == "0" }
    #expect(eight.rsaPrimesHex?.count == 2 && eight.rsaPrimesHex?[0].drop { $0 == "0" } == p, "\(eight.rsaPrimesHex ?? [])")
    // A three-prime key is left to the decoders: read, but without a pair of primes.
    guard case .privateKey(let multi)? = KeyInspection.inspect(pem: try read("multi.pem")).first?.item else {
      Issue.record("the three-prime key did not read")
      return
    }
    #expect(multi.bits == 1536 && multi.rsaPrimesHex == nil)
  }
}

/// Runs a bash script (the openssl command makes the tests' keys); its exit status.
enum Shell {
  static func run(_ script: String) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", script]
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
  }
}

/// The public half of a PEM private key, through the openssl command (a second opinion).
enum AsymmetricKeyPEM {
  static func publicHalf(of pem: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = ["pkey", "-pubout"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(pem.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }
}

@Suite struct ByteSearchTests {
  @Test func findsBytesWhereStringSearchWould() {
    let texts = ["", "a", "ssh-rsa AAAA", "xxssh-", "ss", "sssh-", "-----BEGIN X-----", "é ssh-é", "ssh", "sh-ssh-"]
    for text in texts {
      #expect(text.containsBytes("ssh-") == text.contains("ssh-"), "\(text)")
      #expect(text.containsBytes("-----BEGIN ") == text.contains("-----BEGIN "), "\(text)")
      #expect(text.containsBytes(""))
    }
    // Random texts over a small alphabet, so that needles and their parts occur often,
    // at every position.
    var generator = SystemRandomNumberGenerator()
    let alphabet = Array("sh-SH KEYecdaOPN2\n")
    for _ in 0..<3000 {
      var text = String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
      if Bool.random(using: &generator) {  // a needle, whole or cut short, somewhere
        let needle = ["ssh-", "ecdsa-sha2-", "OPENSSH PRIVATE KEY"].randomElement(using: &generator)!
        let at = text.index(text.startIndex, offsetBy: Int.random(in: 0...text.count, using: &generator))
        text.insert(contentsOf: needle.prefix(Int.random(in: needle.count - 2...needle.count, using: &generator)), at: at)
      }
      #expect(text.containsBytes("ssh-") == text.contains("ssh-"), "\(text)")
      #expect(text.containsBytes("ecdsa-sha2-") == text.contains("ecdsa-sha2-"), "\(text)")
      #expect(text.containsBytes("OPENSSH PRIVATE KEY") == text.contains("OPENSSH PRIVATE KEY"), "\(text)")
      #expect(text.containsBytes("SSH") == text.contains("SSH"), "\(text)")
      #expect(text.containsBytes("-") == text.contains("-"), "\(text)")
    }
    // A bridged (non-native) string takes the copying path.
    let bridged = String(NSString(string: "key: ssh-ed25519 AAAA"))
    #expect(bridged.containsBytes("ssh-ed25519") && !bridged.containsBytes("ssh-rsa"))
  }
}
