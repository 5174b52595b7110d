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

  @Test func roundTripAndVerify() throws {
    var seal = Seal(statement: facts().fields())
    try seal.sign(role: "sealer", key: signer, time: "2026-11-29T10:00:00Z")
    let parsed = try Seal.parse(seal.encoded())
    #expect(parsed == seal)
    #expect(try SealFacts(fields: parsed.statement) == facts())
    #expect(parsed.verify(parsed.signatures[0], with: signer))
    #expect(!parsed.verify(parsed.signatures[0], with: witness))
  }

  @Test func witnessesAddSignaturesWithoutTouchingTheStatement() throws {
    var seal = Seal(statement: facts().fields())
    try seal.sign(role: "sealer", key: signer, time: "t1")
    let before = seal.statementText
    var extra = SealFields()
    extra.append("Bag", "SEAL-0042")
    try seal.sign(role: "auditor", key: witness, time: "t2", extra: extra)
    let parsed = try Seal.parse(seal.encoded())
    #expect(parsed.statementText == before)
    #expect(parsed.verify(parsed.signatures[0], with: signer))
    #expect(parsed.verify(parsed.signatures[1], with: witness))
    #expect(parsed.signatures[1].fields.value("Bag") == "SEAL-0042")
  }

  @Test func alteredStatementOrSignatureFieldsFailVerification() throws {
    var seal = Seal(statement: facts().fields())
    try seal.sign(role: "sealer", key: signer, time: "t1")
    let text = seal.encoded()
    let altered = try Seal.parse(text.replacingOccurrences(of: "Entries: 5", with: "Entries: 6"))
    #expect(!altered.verify(altered.signatures[0], with: signer))
    let relabeled = try Seal.parse(text.replacingOccurrences(of: "Role: sealer", with: "Role: auditor"))
    #expect(!relabeled.verify(relabeled.signatures[0], with: signer))
  }

  @Test func malformedSealsAreRejected() throws {
    var seal = Seal(statement: facts().fields())
    try seal.sign(role: "sealer", key: signer, time: "t1")
    let text = seal.encoded()
    for bad in [
      "", "hello\n", String(text.dropLast()),
      text.replacingOccurrences(of: "-----END REHOST SIGNATURE-----\n", with: ""),
      text + "trailing junk\n",
      text.replacingOccurrences(of: "Format: rehost-seal/1", with: "Format: rehost-seal/9"),
      text.replacingOccurrences(of: "Entries: 5", with: "Entries:5"),
    ] {
      #expect { _ = try Seal.parse(bad) } throws: { ($0 as? RehostError)?.kind == .seal }
    }
  }
}
