import RehostBase
import RehostCrypto
import RehostFormat
import Testing

@Suite struct SealTests {
  let signer = try! AsymmetricKey.generate(.ed25519)
  let witness = try! AsymmetricKey.generate(.ed25519)

  func facts() -> SealFacts {
    SealFacts(archiveName: "ca.rehost", archiveSHA256: String(repeating: "ab", count: 32), archiveSize: 1234,
              manifestSHA256: String(repeating: "cd", count: 32), entries: 5, contentBytes: 999,
              recipients: ["x25519 " + String(repeating: "ef", count: 32)], label: "move to Ede", sources: ["/srv/ca"],
              host: "ca1", created: "2026-11-29T10:00:00Z", sealer: signer.fingerprint(), tool: "rehost test")
  }

  func sealed(witnessed: Bool = false) throws -> Seal {
    var seal = Seal(statement: facts().fields())
    try seal.sign(role: "sealer", key: signer, time: "2026-11-29T10:00:00Z")
    if witnessed {
      var extra = SealFields()
      extra.append("Bag", "SEAL-0042")
      try seal.sign(role: "auditor", key: witness, time: "2026-11-29T10:05:00Z", extra: extra)
    }
    return seal
  }

  func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

  func expectAltered(_ text: String, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(sourceLocation: sourceLocation) { try Seal.parse(bytes(text)).validate() } throws: { error in
      let e = error as? RehostError
      return e?.kind == .seal && e?.message.contains(words) == true
    }
  }

  @Test func roundTripAndValidate() throws {
    let seal = try sealed(witnessed: true)
    let parsed = try Seal.parse(bytes(seal.encoded()))
    #expect(parsed == seal)
    #expect(try SealFacts(fields: parsed.statement) == facts())
    try parsed.validate()
    #expect(parsed.signatures[1].fields.value("Bag") == "SEAL-0042")
    #expect(parsed.signatures[1].publicKey?.fingerprint() == witness.fingerprint())
  }

  @Test func anyChangeToAnyBlockIsAnAlteredSeal() throws {
    let text = try sealed(witnessed: true).encoded()
    expectAltered(text.replacingOccurrences(of: "Entries: 5", with: "Entries: 6"), "different statement")
    expectAltered(text.replacingOccurrences(of: "Role: sealer", with: "Role: operator"), "does not verify")
    expectAltered(text.replacingOccurrences(of: "Bag: SEAL-0042", with: "Bag: SEAL-0043"), "signature 2")
    // A witness's Key: changed to another key: not silently "not counted".
    let other = try AsymmetricKey.generate(.ed25519).fingerprint()
    expectAltered(text.replacingOccurrences(of: "Key: \(witness.fingerprint())", with: "Key: \(other)"), "not its Public-Key")
    expectAltered(text.replacingOccurrences(of: "Key: \(signer.fingerprint())", with: "Key: \(other)"), "not its Public-Key")
  }

  @Test func duplicatedAndReorderedBlocksAreAnAlteredSeal() throws {
    let seal = try sealed(witnessed: true)
    let statement = seal.statementText
    let (sealer, auditor) = (seal.signatures[0], seal.signatures[1])
    func text(_ blocks: [SealSignature]) -> String { Seal(statement: seal.statement, signatures: blocks).encoded() }
    #expect(text([sealer, auditor]).hasPrefix(statement))
    expectAltered(text([sealer, auditor, auditor]), "repeats signature 2")
    expectAltered(text([sealer, sealer, auditor]), "repeats signature 1")
    expectAltered(text([auditor, sealer]), "sealer")
    expectAltered(text([auditor]), "is not the sealer's")
    expectAltered(text([]), "no signature")
  }

  @Test func theBytesOnDiskAreWhatIsVerified() throws {
    var f = facts()
    f.label = "move to Ede \u{FFFD}"
    var seal = Seal(statement: f.fields())
    try seal.sign(role: "sealer", key: signer, time: "2026-11-29T10:00:00Z")
    let good = bytes(seal.encoded())
    try Seal.parse(good).validate()
    // The bytes of U+FFFD (EF BF BD) replaced by one invalid byte: a lossy decoder would
    // read the same text; the seal is malformed.
    let marker: [UInt8] = [0xef, 0xbf, 0xbd]
    let at = try #require((0..<good.count - 2).first { Array(good[$0..<$0 + 3]) == marker })
    let bad = Array(good[..<at]) + [0xff] + Array(good[(at + 3)...])
    #expect { try Seal.parse(bad) } throws: { ($0 as? RehostError)?.message.contains("not UTF-8") == true }
    // Canonically equivalent text (é composed vs decomposed) is different bytes: refused.
    var g = facts()
    g.label = "caf\u{E9}"
    var composed = Seal(statement: g.fields())
    try composed.sign(role: "sealer", key: signer, time: "2026-11-29T10:00:00Z")
    let decomposed = bytes(composed.encoded().replacingOccurrences(of: "caf\u{E9}", with: "cafe\u{301}"))
    #expect(decomposed != bytes(composed.encoded()))
    expectAltered(String(decoding: decomposed, as: UTF8.self), "different statement")
  }

  @Test func malformedSealsAreRejected() throws {
    let text = try sealed().encoded()
    for bad in [
      "", "hello\n", String(text.dropLast()),
      text.replacingOccurrences(of: "-----END REHOST SIGNATURE-----\n", with: ""),
      text + "trailing junk\n",
      text + "\n",
      text.replacingOccurrences(of: "Format: rehost-seal/1", with: "Format: rehost-seal/9"),
      text.replacingOccurrences(of: "Entries: 5", with: "Entries:5"),
      text.replacingOccurrences(of: "Time: 2026-11-29T10:00:00Z", with: "Time: yesterday"),
      text.replacingOccurrences(of: "Role: sealer\n", with: "Role: sealer\nRole: sealer\n"),
      text.replacingOccurrences(of: "Public-Key: ", with: "Public-Key: AAAA"),
      text.replacingOccurrences(of: "\n", with: "\r\n"),
    ] {
      #expect { _ = try Seal.parse(bytes(bad)) } throws: { ($0 as? RehostError)?.kind == .seal }
    }
    for statementBug in [
      text.replacingOccurrences(of: "Archive-Size: 1234", with: "Archive-Size: 01234"),
      text.replacingOccurrences(of: "Archive-Size: 1234\n", with: "Archive-Size: 1234\nArchive-Size: 99\n"),
      text.replacingOccurrences(of: "Archive-SHA256: abab", with: "Archive-SHA256: ABAB"),
    ] {
      #expect { _ = try SealFacts(fields: try Seal.parse(bytes(statementBug)).statement) } throws: { ($0 as? RehostError)?.kind == .seal }
    }
  }

  @Test func namesAreEscapedIntoOneLineOfText() {
    #expect(TextEscape.escape(Array("/srv/ca".utf8)) == "/srv/ca")
    #expect(TextEscape.escape(Array("/srv/new\nline\tand trailing ".utf8)) == "/srv/new\\x0aline\\x09and trailing\\x20")
    #expect(TextEscape.escape([0x61, 0xff, 0x5c]) == "a\\xff\\\\")
    #expect(TextEscape.escape(Array("a\u{202E}b".utf8)) == "a\\xe2\\x80\\xaeb")
    #expect(TextEscape.escape(Array("café".utf8)) == "café")
    for value in ["/srv/new\nline", " x", "\u{85}"] {
      #expect(SealFields.isValidValue(TextEscape.escape(Array(value.utf8))))
    }
  }

  /// The escape equals its definition, decoded by the standard library one scalar at a
  /// time, on random names: mostly ASCII, with spaces, backslashes, controls, valid and
  /// broken UTF-8, and the hidden marks.
  @Test func escapingEqualsItsDefinitionOnRandomNames() {
    func reference(_ input: [UInt8]) -> String {
      var out = ""
      var i = 0
      while i < input.count {
        let length = (1...4).reversed().first { n in
          i + n <= input.count && String(validating: input[i..<(i + n)], as: UTF8.self).map { $0.unicodeScalars.count == 1 } == true
        } ?? 0
        if length == 0 {
          out += "\\x" + String(input[i] >> 4, radix: 16) + String(input[i] & 15, radix: 16)
          i += 1
          continue
        }
        let piece = input[i..<(i + length)]
        let value = String(decoding: piece, as: UTF8.self).unicodeScalars.first!.value
        if TextEscape.isHidden(value) || (value == 0x20 && (i == 0 || i == input.count - 1)) {
          for b in piece { out += "\\x" + String(b >> 4, radix: 16) + String(b & 15, radix: 16) }
        } else if value == 0x5c {
          out += "\\\\"
        } else {
          out += String(decoding: piece, as: UTF8.self)
        }
        i += length
      }
      return out
    }
    let pieces: [[UInt8]] = ["a", "Z", "0", "/", ".", " ", "\\", "\t", "\u{7f}", "\u{85}", "é", "€", "😀", "\u{202E}", "\u{200B}", "\u{FEFF}", "\u{2028}"]
      .map { Array($0.utf8) } + [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf]]
    var generator = SystemRandomNumberGenerator()
    for round in 0..<3000 {
      let count = Int.random(in: 0...12, using: &generator)
      let name = (0..<count).flatMap { _ in round % 3 == 0 ? pieces[Int.random(in: 0..<5, using: &generator)] : pieces.randomElement(using: &generator)! }
      #expect(TextEscape.escape(name) == reference(name), "\(name)")
      #expect(TextEscape.escape(name[...]) == reference(name))
    }
  }

  @Test func modesAndTimesPrintAsTheirFormatsSay() {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<2000 {
      let mode = UInt32.random(in: 0...0o177777, using: &generator)
      let seconds = Int64.random(in: -3_000_000_000...5_000_000_000, using: &generator)
      let nanoseconds = [0, 5, 999_999_999, Int.random(in: 0..<1_000_000_000, using: &generator)].randomElement(using: &generator)!
      let entry = ManifestEntry(path: ArchivePath("a/b"), type: .file, size: 0, mode: mode, uid: 0, gid: 0, user: "", group: "",
                                mtimeSeconds: seconds, mtimeNanoseconds: nanoseconds)
      #expect(entry.mode == String(format: "%04o", mode & 0o7777))
      #expect(entry.mtime == String(format: "%lld.%09d", seconds, nanoseconds))
    }
  }
}
