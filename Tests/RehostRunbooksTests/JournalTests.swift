import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import Testing

@testable import RehostRunbooks

/// Journals written line by line here, including ones no honest run writes (the same
/// person witnessing twice, a witness statement replayed from an earlier head, a value
/// that lies about matching), held to the verifier's rules (docs/RUNBOOK.md).
@Suite struct JournalTests {
  static let runbookText = """
    runbook: 1
    title: Unit
    policy: unit.policy
    phases:
      - title: All
        steps:
          - {id: announce, title: Announce, instruction: confirm}
          - {id: bag-sealed, title: Bag, record: Bag serial}
          - {id: sealing-witnessed, title: Witness, witness: {roles: [auditor, isp-witness], people: 2}}
          - {id: bag-opened, title: Bag again, record: Bag serial, equals: bag-sealed.value}
    """

  let runbook: Runbook
  let operatorKey = try! AsymmetricKey.generate(.ed25519)
  let auditor = try! AsymmetricKey.generate(.ed25519)
  let ispDesk = try! AsymmetricKey.generate(.ed25519)
  let ispLaptop = try! AsymmetricKey.generate(.ed25519)
  let notary = try! AsymmetricKey.generate(.ed25519)
  let policy: TrustPolicy

  init() throws {
    let (book, problems) = RunbookReader.lint(bytes: Array(Self.runbookText.utf8), file: "unit.yaml", checkingPolicy: false)
    #expect(problems.isEmpty, "\(problems)")
    runbook = try #require(book)
    policy = TrustPolicy(keys: [
      .init(key: operatorKey, path: "operator.pub", roles: ["operator"], person: "operator"),
      .init(key: auditor, path: "auditor.pub", roles: ["auditor"], person: "auditor"),
      .init(key: ispDesk, path: "isp.pub", roles: ["isp-witness"], person: "isp-staff"),
      .init(key: ispLaptop, path: "isp-laptop.pub", roles: ["isp-witness"], person: "isp-staff"),
      .init(key: notary, path: "notary.pub", roles: ["notary"], person: "notary"),
    ], requirements: [], source: "unit.policy")
  }

  /// Writes a journal with the real JournalFile, as a run would.
  final class Writer {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rehost-journal-\(UUID().uuidString)").path
    let file: JournalFile
    let signer: AsymmetricKey
    let runbookSHA: String
    var values: [(String, String)] = []

    init(_ test: JournalTests) throws {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      file = try JournalFile(directory: directory, head: "", nextSeq: 0)
      signer = test.operatorKey
      runbookSHA = test.runbook.sha256
      try add(.begin, nil, [("runbook", .string(runbookSHA)), ("title", .string("Unit")), ("file", .string("unit.yaml")),
                            ("policy", .string("unit.policy")), ("policy_sha256", .string(String(repeating: "0", count: 64))),
                            ("workdir", .string("/srv")), ("as", .string("Olga")), ("params", .object([]))])
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func add(_ event: JournalEntry.Event, _ step: String?, _ fields: [(String, JournalValue)] = []) throws {
      try file.append(event, step: step, fields, signer: signer)
    }

    func value(_ step: String, _ value: String, matches: Bool? = nil) throws {
      try add(.value, step, [("value", .string(value))] + (matches.map { [("matches", .bool($0))] } ?? []))
      if matches != false { values.append(("\(step).value", value)) }
    }

    /// A witness's line; `head` overrides the journal head the statement names.
    func witness(_ step: String, _ key: AsymmetricKey, role: String, head: String? = nil) throws {
      let statement = WitnessStatement(runbook: runbookSHA, step: step, journalHead: head ?? file.head, role: role,
                                       key: key.fingerprint(), time: Timestamp.now(), values: values)
      try add(.witnessed, step, [
        ("role", .string(role)), ("witness", .string(key.fingerprint())), ("witness_key", .string(Base64.encode(key.publicKeyDER()))),
        ("statement", .string(Base64.encode(Array(statement.text.utf8)))),
        ("witness_sig", .string(Base64.encode(try key.sign(Array(statement.text.utf8))))),
      ])
    }

    func done(_ step: String) throws { try add(.finished, step, [("outcome", .string("done"))]) }

    var bytes: [UInt8] { get throws { [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + JournalFile.name))) } }
  }

  /// The run up to the witness step.
  func sealedBag() throws -> Writer {
    let w = try Writer(self)
    try w.add(.confirmed, "announce")
    try w.done("announce")
    try w.value("bag-sealed", "BAG-0042")
    try w.done("bag-sealed")
    return w
  }

  func verify(_ w: Writer) throws -> JournalState {
    try JournalVerifier.verify(try w.bytes, path: "j", policy: policy, runbook: runbook)
  }

  /// Expects the verifier to refuse the journal with `kind`, naming `line` and saying `words`.
  func expectRefused(_ w: Writer, _ kind: RehostError.Kind, line: Int, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    do {
      _ = try verify(w)
      Issue.record("the journal verified", sourceLocation: sourceLocation)
    } catch let error as RehostError {
      #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation)
      #expect(error.message.hasPrefix("journal j:\(line): ") && error.message.contains(words), "\(error.message)", sourceLocation: sourceLocation)
    }
  }

  @Test func aGenuineRunVerifiesAndSaysWhereItStands() throws {
    let w = try sealedBag()
    try w.witness("sealing-witnessed", auditor, role: "auditor")
    try w.witness("sealing-witnessed", ispDesk, role: "isp-witness")
    try w.done("sealing-witnessed")
    try w.value("bag-opened", "BAG-0042", matches: true)
    try w.done("bag-opened")
    try w.add(.end, nil, [("steps", .int(4))])
    let state = try verify(w)
    #expect(state.ended && state.finished.count == 4 && state.entries.count == 11)
    #expect(state.value("bag-opened.value") == "BAG-0042")
    #expect(state.witnesses["sealing-witnessed"]?.map(\.person) == ["auditor", "isp-staff"])
    #expect(state.head == Hex.encode(SHA256.hash(try w.bytes.split(separator: 0x0a).last.map { Array($0) + [0x0a] }!)))
  }

  @Test func onePersonWithTwoKeysCountsOnce() throws {
    let w = try sealedBag()
    try w.witness("sealing-witnessed", ispDesk, role: "isp-witness")
    try w.witness("sealing-witnessed", ispLaptop, role: "isp-witness")
    try expectRefused(w, .policy, line: 7, "the same person signs step `sealing-witnessed` twice")
  }

  @Test func aWitnessInARoleTheStepDoesNotNameIsRefused() throws {
    let w = try sealedBag()
    try w.witness("sealing-witnessed", notary, role: "notary")
    try expectRefused(w, .policy, line: 6, "witnessed in roles auditor, isp-witness, not notary")
  }

  @Test func aWitnessClaimingARoleThePolicyDoesNotGiveIsRefused() throws {
    let w = try sealedBag()
    try w.witness("sealing-witnessed", notary, role: "auditor")
    try expectRefused(w, .policy, line: 6, "is not trusted by unit.policy as auditor")
  }

  @Test func aWitnessStepFinishedWithTooFewPeopleIsRefused() throws {
    let w = try sealedBag()
    try w.witness("sealing-witnessed", auditor, role: "auditor")
    try w.done("sealing-witnessed")
    try expectRefused(w, .policy, line: 7, "finished with 1 of 2 witnesses")
  }

  @Test func aStatementSignedOverAnotherJournalHeadIsRefused() throws {
    let w = try sealedBag()
    try w.witness("sealing-witnessed", auditor, role: "auditor", head: String(repeating: "ab", count: 32))
    try expectRefused(w, .seal, line: 6, "the witness's statement is not about this runbook, step, journal head and values")
  }

  @Test func aValueThatLiesAboutMatchingIsRefused() throws {
    let w = try sealedBag()
    try w.witness("sealing-witnessed", auditor, role: "auditor")
    try w.witness("sealing-witnessed", ispDesk, role: "isp-witness")
    try w.done("sealing-witnessed")
    try w.value("bag-opened", "BAG-0043", matches: true)
    try expectRefused(w, .seal, line: 9, "it says the value equals bag-sealed.value, which it does not")
  }

  @Test func aRecordStepFinishedWithoutItsEqualValueIsRefused() throws {
    let w = try sealedBag()
    try w.witness("sealing-witnessed", auditor, role: "auditor")
    try w.witness("sealing-witnessed", ispDesk, role: "isp-witness")
    try w.done("sealing-witnessed")
    try w.value("bag-opened", "BAG-0043", matches: false)  // journalled, as a run does, and then...
    try w.done("bag-opened")                             // ...finished anyway, as no run does
    try expectRefused(w, .policy, line: 10, "finished without a value equal to bag-sealed.value")
  }

  @Test func stepsOutOfOrderOrNotInTheRunbookAreRefused() throws {
    let early = try Writer(self)
    try early.value("bag-sealed", "BAG-0042")
    try expectRefused(early, .seal, line: 2, "acted on before step `announce` was finished")
    let stranger = try Writer(self)
    try stranger.add(.confirmed, "unplugged")
    try expectRefused(stranger, .seal, line: 2, "step `unplugged` is not in the runbook")
    let twice = try sealedBag()
    try twice.add(.confirmed, "announce")
    try expectRefused(twice, .seal, line: 6, "acted on after it was finished")
  }

  @Test func aFieldTheEventDoesNotHaveIsRefused() throws {
    let w = try Writer(self)
    try w.add(.confirmed, "announce", [("by", .string("someone else"))])
    try expectRefused(w, .corrupt, line: 2, "a confirmed line has no field `by`")
  }

  // MARK: Lines

  @Test func linesParseOnlyWhenWrittenTheCanonicalWay() throws {
    let w = try Writer(self)
    try w.value("bag-sealed", "quote \" backslash \\ tab \t newline \n del \u{7f} é 🔑")
    let lines = try w.bytes.split(separator: 0x0a).map { Array($0) }
    for line in lines {
      let entry = try #require(JournalEntry.parse(line))
      #expect(Array(entry.line.utf8) == line)
      #expect(entry.signatureVerifies)
    }
    let text = String(decoding: lines[1], as: UTF8.self)
    #expect(text.contains(#""value":"quote \" backslash \\ tab \t newline \n del \u007f é 🔑""#), "\(text)")
    let variants = [
      text.replacingOccurrences(of: #"{"seq":1,"#, with: #"{ "seq":1,"#),              // whitespace
      text.replacingOccurrences(of: #"\u007f"#, with: #"\u007F"#),                     // another escape of the same text
      text.replacingOccurrences(of: "é", with: #"\u00e9"#),
      text.replacingOccurrences(of: #""seq":1,"time""#, with: #""seq":01,"time""#),   // another number
      text.replacingOccurrences(of: #"{"seq":1,"time":"#, with: #"{"time":"#) + "",      // a key missing
      text + " ",
      text.replacingOccurrences(of: #""event":"value","#, with: #""event":"value","event":"value","#),
      text.replacingOccurrences(of: #""event":"value""#, with: #""event":"vote""#),     // unknown event
    ]
    for variant in variants {
      #expect(variant != text)
      #expect(JournalEntry.parse(Array(variant.utf8)) == nil, "parsed: \(variant)")
    }
    #expect(JournalEntry.parse([0x7b, 0xff, 0x7d]) == nil)
  }

  @Test func witnessStatementsAreTheDocumentedText() {
    let s = WitnessStatement(runbook: "r", step: "s", journalHead: "h", role: "auditor", key: "k", time: "2026-12-01T10:00:00Z",
                             values: [("bag.value", "BAG 1\n")])
    #expect(s.text == "rehost-runbook-witness/1\nRunbook: r\nStep: s\nJournal-Head: h\nRole: auditor\nKey: k\nTime: 2026-12-01T10:00:00Z\nValue: bag.value BAG 1\\x0a\n")
    #expect(WitnessStatement.time(in: s.text) == "2026-12-01T10:00:00Z")
  }

  // MARK: Placeholders

  @Test func placeholdersInCommandsBecomeOneQuotedWord() throws {
    let values = ["bag": "BAG'; rm -rf / #", "n": "$(reboot)"]
    let filled = try Placeholders.fill("echo ${bag} ${n}", quote: true) { values[$0] }
    #expect(filled == #"echo 'BAG'\''; rm -rf / #' '$(reboot)'"#)
    #expect(try Placeholders.fill("Bag ${bag}", quote: false) { values[$0] } == "Bag BAG'; rm -rf / #")
    #expect(throws: RehostError.self) { try Placeholders.fill("echo ${missing}", quote: true) { values[$0] } }
    #expect(Placeholders.names(in: "a ${x} b ${y.z} ${") == ["x", "y.z"])
    #expect(Placeholders.quotedNames(inCommand: #"echo "${a}" '${b}' ${c} \"${d}\" "it's ${e}""#) == ["a", "b", "e"])
  }
}
