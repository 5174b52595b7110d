import Foundation
import Testing

/// Runbooks (docs/RUNBOOK.md): the shipped move run end to end on the sample CA; a short
/// runbook with a step of every kind run from an answers file and on a real terminal,
/// stopped by SIGKILL and signals at many points and resumed; witnesses refused on the
/// spot; and every edit of its journal caught by `runbook verify` and by the stock-tools
/// procedure, naming the line.
@Suite struct RunbookTests {
  static let shortRunbook = """
    runbook: 1
    title: A short move
    params:
      policy: policy.txt
      note: Vienna
    policy: ${policy}
    phases:
      - title: Seal
        steps:
          - id: announce
            title: Announce the downtime
            instruction: confirm
          - id: bag-sealed
            title: Bag serial at sealing
            record: Serial number on the bag
            pattern: 'BAG-[0-9]{4}'
          - id: pack
            title: Pack the disk
            command: echo packing ${bag-sealed.value} from ${note}; echo digest 5f3a
            capture:
              digest: 'digest ([0-9a-f]+)'
          - id: sealing-witnessed
            title: The bag is sealed under witness
            witness: {roles: [auditor, isp-witness], people: 2}
      - title: Arrive
        steps:
          - id: bag-opened
            title: Bag serial on arrival
            record: Serial number on the bag
            equals: bag-sealed.value
          - id: slow
            title: A command that is not idempotent
            command: echo start >> runs.txt; while [ -e hold-slow ]; do sleep 0.05; done; echo end >> runs.txt
          - id: tidy
            title: An idempotent command
            command: echo tidy >> tidy.txt; while [ -e hold-tidy ]; do sleep 0.05; done
            idempotent: true
          - id: arrival-checked
            title: A check
            check: test ! -e check-fails

    """

  static let answers = """
    announce: yes
    bag-sealed: BAG-0042
    sealing-witnessed: [auditor.key, isp.key]
    bag-opened: BAG-0042

    """

  /// The people (the ISP's staff member has two keys, `person isp-staff`; `ispx`'s key is
  /// encrypted), their policy, the short runbook and its answers.
  static func prepared() throws -> Sandbox {
    let box = try Sandbox()
    try box.keygen("operator", "auditor", "isp", "isp-laptop", "outsider")
    try box.mustSh("printf 'isp secret\\n' > ispx.pass")
    #expect(try box.rehost("keygen", "--out", "ispx", "--key-passphrase-file", "ispx.pass").status == 0)
    try box.mustSh("""
      cat > policy.txt <<'EOF'
      trust operator.pub as operator
      trust auditor.pub as auditor
      trust isp.pub as isp-witness person isp-staff
      trust isp-laptop.pub as isp-witness person isp-staff
      trust ispx.pub as isp-witness
      EOF
      """)
    try box.write("short.yaml", Array(shortRunbook.utf8))
    try box.write("answers.yaml", Array(answers.utf8))
    return box
  }

  @discardableResult
  static func runShort(_ box: Sandbox, journal: String = "j", answers: String = "answers.yaml", _ extra: String...) throws -> RunResult {
    try box.rehost(["runbook", "run", "short.yaml", "--journal", journal, "--as", "Olga Operator", "--key", "operator.key",
                    "--answers", answers] + extra)
  }

  static func journalLines(_ box: Sandbox, _ journal: String = "j") throws -> [String] {
    String(decoding: try box.read(journal + "/journal.jsonl"), as: UTF8.self).split(separator: "\n").map(String.init)
  }

  /// The 1-based number of the first journal line containing every fragment.
  static func line(_ lines: [String], _ fragments: String...) throws -> Int {
    try #require(lines.firstIndex { line in fragments.allSatisfy { line.contains($0) } }, "no line with \(fragments)") + 1
  }

  static let forge = "python3 '\(packageRoot)/Tests/EndToEndTests/Scripts/forge_journal.py'"

  // MARK: The move

  @Test func datacenterMoveRunsEndToEndOnTheSampleCA() throws {
    let box = try Sandbox()
    let demo = try run("/bin/bash", [packageRoot + "/scripts/demo.sh", rehostBinary, box.path("demo")], cwd: box.dir)
    #expect(demo.status == 0, "\(demo.output.suffix(3000))")
    #expect(demo.stdout.contains("demo complete"), "\(demo.stdout.suffix(2000))")
    let dir = box.path("demo")
    let move = packageRoot + "/runbooks/datacenter-move.yaml"
    let verify = try run(rehostBinary, ["runbook", "verify", "move-journal", "--policy", "policy.txt", "--runbook", move], cwd: dir)
    #expect(verify.status == 0 && verify.stdout.contains("the run is complete"), "\(verify.output)")

    // The report names every step, every witness and every value recorded.
    let report = try run(rehostBinary, ["runbook", "report", "move-journal", "--format", "md"], cwd: dir)
    #expect(report.status == 0, "\(report.output)")
    let yaml = try String(contentsOfFile: move, encoding: .utf8)
    let ids = yaml.split(separator: "\n").compactMap { line -> String? in
      let t = line.trimmingCharacters(in: .whitespaces)
      return t.hasPrefix("- id: ") ? String(t.dropFirst(6)) : nil
    }
    #expect(ids.count == 29)
    for id in ids { #expect(report.stdout.contains(", \(id)]: "), "the report lacks step \(id)") }
    for value in ["BAG-0042", "DISK-SEAL-7", "WD-WCC4N0123456", "auditor.pub", "isp.pub", "Debian weak key"] {
      #expect(report.stdout.contains(value), "the report lacks \(value)")
    }
    let journal = try Self.journalLines(box, "demo/move-journal")
    #expect(journal.filter { $0.contains(#""event":"witnessed""#) }.count == 8)
    #expect(journal.filter { $0.contains(#""event":"exception""#) }.count == 2)
    #expect(journal.contains { $0.contains(#""step":"bag-ede""#) && $0.contains(#""value":"BAG-0042","matches":true"#) })

    // A real snapshot, sealed and countersigned with the bag serials; verified with the
    // policy and the bags; the archive the journal names is the one on disk.
    let bags = try run(rehostBinary, ["verify", "ca.rehost", "--policy", "policy.txt", "--expect-bag", "BAG-0042",
                                      "--expect-bag", "DISK-SEAL-7"], cwd: dir)
    #expect(bags.status == 0, "\(bags.output)")
    let wrongBag = try run(rehostBinary, ["verify", "ca.rehost", "--policy", "policy.txt", "--expect-bag", "BAG-0043"], cwd: dir)
    #expect(wrongBag.status == 7, "\(wrongBag.output)")
    let sha = try run("/bin/sh", ["-c", "sha256sum ca.rehost | cut -d' ' -f1"], cwd: dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let finalBackup = try #require(journal.first { $0.contains(#""event":"output","step":"final-backup""#) })
    #expect(finalBackup.contains(#""archive-sha256":"\#(sha)""#), "\(finalBackup)")
    #expect(report.stdout.contains(sha))
    // The restore and the checks ran on the restored CA.
    #expect(FileManager.default.fileExists(atPath: dir + "/restored/ca/private/ca.key.pem"))
  }

  // MARK: Lint and show

  @Test func lintNamesEveryErrorClassWithItsLine() throws {
    let box = try Self.prepared()
    let valid = Self.shortRunbook
    #expect(try box.rehost("runbook", "lint", "short.yaml").status == 0)
    /// The 1-based line of `text` holding `marker`.
    func line(_ text: String, _ marker: String) -> Int? {
      text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(marker) }.map { $0 + 1 }
    }
    // (what is wrong, the runbook, where the line named is, words of the message)
    let cases: [(String, String, String, String)] = [
      ("bad YAML", valid.replacingOccurrences(of: "title: A short move\nparams:", with: "title: [A short move\nparams:"), "params:", "not valid YAML"),
      ("a key twice", valid.replacingOccurrences(of: "title: A short move", with: "title: A short move\ntitle: again"), "title: A short move", "not valid YAML"),
      ("unknown key", valid.replacingOccurrences(of: "    instruction: confirm", with: "    instruction: confirm\n        colour: red"), "colour: red", "unknown key `colour`"),
      ("unknown kind", valid.replacingOccurrences(of: "    instruction: confirm", with: "    ask: the operator"), "ask: the operator", "unknown key `ask`"),
      ("no kind", valid.replacingOccurrences(of: "        instruction: confirm\n", with: ""), "- id: announce", "has no kind"),
      ("two kinds", valid.replacingOccurrences(of: "    instruction: confirm", with: "    instruction: confirm\n        check: \"true\""), "- id: announce", "several kinds"),
      ("duplicate id", valid.replacingOccurrences(of: "id: tidy", with: "id: slow "), "id: slow ", "step id `slow` is used twice"),
      ("equals names no step", valid.replacingOccurrences(of: "equals: bag-sealed.value", with: "equals: bag-sold.value"), "- id: bag-opened", "names no step"),
      ("equals names a later step", valid.replacingOccurrences(of: "equals: bag-sealed.value", with: "equals: slow.value"), "- id: bag-opened", "a step that comes later"),
      ("equals names no value", valid.replacingOccurrences(of: "equals: bag-sealed.value", with: "equals: pack.size"), "- id: bag-opened", "records no value `size`"),
      ("placeholder names no param", valid.replacingOccurrences(of: "${note}", with: "${notes}"), "- id: pack", "${notes} names no param"),
      ("placeholder inside quotes", valid.replacingOccurrences(of: "from ${note}", with: "\"from ${note}\""), "- id: pack", "${note} is inside quotes"),
      ("role the policy lacks", valid.replacingOccurrences(of: "roles: [auditor, isp-witness]", with: "roles: [notary]"), "- id: sealing-witnessed", "gives no key the role `notary`"),
      ("too few people", valid.replacingOccurrences(of: "people: 2", with: "people: 4"), "- id: sealing-witnessed", "needs 4 people"),
      ("bad pattern", valid.replacingOccurrences(of: "'BAG-[0-9]{4}'", with: "'BAG-[0-9'"), "pattern:", "not a valid regular expression"),
      ("capture without a group", valid.replacingOccurrences(of: "'digest ([0-9a-f]+)'", with: "'digest [0-9a-f]+'"), "digest: ", "no group"),
      ("schema version", valid.replacingOccurrences(of: "runbook: 1", with: "runbook: 2"), "runbook: 2", "`runbook: 1`"),
      ("option of another kind", valid.replacingOccurrences(of: "    idempotent: true", with: "    idempotent: true\n        pattern: x"), "pattern: x", "`pattern` does not apply to a command step"),
    ]
    for (what, text, marker, words) in cases {
      #expect(text != valid, "\(what): the case changed nothing")
      let named = "bad.yaml:\(try #require(line(text, marker), "\(what): no \(marker)")): "
      try box.write("bad.yaml", Array(text.utf8))
      let r = try box.rehost("runbook", "lint", "bad.yaml")
      #expect(r.status == 2, "\(what): \(r.output)")
      #expect(r.stderr.split(separator: "\n").contains { $0.contains(named) && $0.contains(words) },
              "\(what): expected \(named)...\(words) in\n\(r.stderr)")
    }
    // Every problem is reported at once.
    try box.write("bad.yaml", Array(valid.replacingOccurrences(of: "id: tidy", with: "id: slow")
      .replacingOccurrences(of: "roles: [auditor, isp-witness]", with: "roles: [notary]").utf8))
    let both = try box.rehost("runbook", "lint", "bad.yaml")
    #expect(both.status == 2 && both.stderr.contains("3 problems"), "\(both.stderr)")
    // The policy itself must let someone run the runbook.
    try box.mustSh("grep -v '^trust operator' policy.txt > no-operator.txt")
    let noOperator = try box.rehost("runbook", "lint", "short.yaml", "--param", "policy=no-operator.txt")
    #expect(noOperator.status == 2 && noOperator.stderr.contains("gives no key the role `operator`"), "\(noOperator.output)")
  }

  @Test func shippedRunbooksLintCleanAndPrintAsPaperScripts() throws {
    let box = try Sandbox()
    try box.keygen("operator", "auditor", "isp")
    try box.mustSh("""
      printf 'trust operator.pub as sealer, operator, old-team, custody\ntrust auditor.pub as auditor\ntrust isp.pub as isp-witness, new-team, custody\n' > policy.txt
      """)
    for name in ["datacenter-move", "restore-drill"] {
      let file = packageRoot + "/runbooks/\(name).yaml"
      let lint = try box.rehost("runbook", "lint", file)
      #expect(lint.status == 0, "\(name): \(lint.output)")
      let md = try box.rehost("runbook", "show", file)
      #expect(md.status == 0 && md.stdout.contains("Done at (time)") && md.stdout.contains("By (initials)"), "\(md.output)")
      let html = try box.rehost("runbook", "show", file, "--format", "html")
      #expect(html.status == 0 && html.stdout.hasPrefix("<!DOCTYPE html>") && html.stdout.contains("<table class=\"boxes\">"), "\(html.output.prefix(500))")
    }
    let move = try box.rehost("runbook", "show", packageRoot + "/runbooks/datacenter-move.yaml")
    for step in ["1. Announce the downtime", "29. ", "Signature"] { #expect(move.stdout.contains(step), "the paper script lacks \(step)") }
    // A missing role is found in the shipped runbook too, with its line.
    try box.mustSh("grep -v isp.pub policy.txt > small.txt")
    let small = try box.rehost("runbook", "lint", packageRoot + "/runbooks/datacenter-move.yaml", "--param", "policy=small.txt")
    #expect(small.status == 2 && small.stderr.contains("datacenter-move.yaml:") && small.stderr.contains("`isp-witness`"), "\(small.output)")
  }

  // MARK: Running

  @Test func shortRunbookRunsFromAnAnswersFile() throws {
    let box = try Self.prepared()
    let r = try Self.runShort(box)
    #expect(r.status == 0, "\(r.output)")
    for text in ["== Phase 1 of 2: Seal", "-- Step 3 of 8 (2 done): Pack the disk  [command]", "packing BAG-0042 from Vienna",
                 "recorded: BAG-0042 (equals bag-sealed.value)", "witnessed by", "Done: A short move, all 8 steps"] {
      #expect(r.stdout.contains(text), "the run did not show \(text):\n\(r.stdout)")
    }
    let lines = try Self.journalLines(box)
    #expect(lines.first?.contains(#""event":"begin""#) == true && lines.last?.contains(#""event":"end""#) == true)
    // Every line has the fields docs/RUNBOOK.md lists, in order; the output is stored and hashed.
    let output = try #require(lines.first { $0.contains(#""event":"output","step":"pack""#) })
    #expect(output.contains(#""values":{"digest":"5f3a"}"#), "\(output)")
    let log = try #require(output.components(separatedBy: #""output":""#).dropFirst().first?.split(separator: "\"").first.map(String.init))
    #expect(log == "output/5-pack.log")
    let digest = try box.sh("sha256sum j/\(log) | cut -d' ' -f1").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(output.contains(#""output_sha256":"\#(digest)""#), "\(output)")
    #expect(try box.sh("cat j/\(log)").stdout == "packing BAG-0042 from Vienna\ndigest 5f3a\n")
    let verify = try box.rehost("runbook", "verify", "j")
    #expect(verify.status == 0 && verify.stdout.contains("the run is complete"), "\(verify.output)")
    let status = try box.rehost("runbook", "status", "j")
    #expect(status.status == 0 && status.stdout.contains("8 of 8 steps done, the run is complete")
            && status.stdout.contains("value bag-sealed.value = BAG-0042") && status.stdout.contains("value pack.digest = 5f3a"), "\(status.output)")
    // Held to another policy file that also trusts them, it verifies, and verify says so.
    try box.mustSh("cp policy.txt other-policy.txt && echo '# edited after the run' >> other-policy.txt")
    let other = try box.rehost("runbook", "verify", "j", "--policy", "other-policy.txt")
    #expect(other.status == 0 && other.stdout.contains("is not the policy the run began under"), "\(other.output)")
    // Running a finished run again changes nothing.
    let again = try Self.runShort(box)
    #expect(again.status == 0 && again.stdout.contains("is complete; nothing to do"), "\(again.output)")
    #expect(try Self.journalLines(box) == lines)
  }

  // MARK: The journal as evidence

  @Test func everyJournalEditIsCaughtNamingTheLine() throws {
    let box = try Self.prepared()
    #expect(try Self.runShort(box).status == 0)
    let lines = try Self.journalLines(box)
    let n = lines.count
    let value = try Self.line(lines, #""event":"value","step":"bag-sealed""#)
    let witness = try Self.line(lines, #""event":"witnessed""#)
    // (what was done, the shell commands on a copy of the journal in e/, exit status, line named, words)
    let cases: [(String, String, Int32, Int, String)] = [
      ("a changed value", "sed -i '\(value)s/BAG-0042/BAG-0043/' e/journal.jsonl", 4, value, "signature does not verify"),
      ("a deleted line", "sed -i '\(value)d' e/journal.jsonl", 4, value, "sequence \(value) where \(value - 1) was due"),
      ("two lines swapped", "sed -i -n '\(value){h;n;p;x;p;b};p' e/journal.jsonl", 4, value, "sequence \(value) where \(value - 1) was due"),
      ("a line appended by someone outside the policy", "\(Self.forge) append outsider.key e/journal.jsonl confirmed", 7, n + 1,
       "policy.txt does not trust as operator"),
      ("a line appended by the operator after the end", "\(Self.forge) append operator.key e/journal.jsonl confirmed", 4, n + 1, "after the run's end"),
      ("a forged signature", "sed -i '\(value)s/\"sig\":\"[A-Za-z0-9+/=]*\"/\"sig\":\"'$(sed -n 1p e/journal.jsonl | sed 's/.*\"sig\":\"\\([^\"]*\\)\".*/\\1/' | sed 's,/,\\\\/,g')'\"/' e/journal.jsonl",
       4, value, "signature does not verify"),
      ("a truncated last line", "truncate -s -20 e/journal.jsonl", 3, n, "the last line is incomplete"),
      ("a changed value, re-signed by the operator", "\(Self.forge) resign operator.key e/journal.jsonl \(value) BAG-0042 BAG-0043", 4, value + 1,
       "does not name the line before it"),
      ("a time moved back, re-signed", "\(Self.forge) resign operator.key e/journal.jsonl \(value) '\"time\":\"2' '\"time\":\"1'", 4, value, "is before the line above"),
      ("a witness's statement altered", "\(Self.forge) resign operator.key e/journal.jsonl \(witness) '\"statement\":\"cmVo' '\"statement\":\"cmVp'", 4, witness,
       "the witness's statement is not about this runbook"),
      ("a line re-signed by the outsider", "\(Self.forge) resign outsider.key e/journal.jsonl \(value) BAG-0042 BAG-0042", 7, value,
       "policy.txt does not trust as operator"),
      ("the first line changed", "\(Self.forge) resign operator.key e/journal.jsonl 1 '\"as\":\"Olga Operator\"' '\"as\":\"Someone Else\"'", 4, 2,
       "does not name the line before it"),
      ("a line that is not canonical", "sed -i '\(value)s/^{\"seq\":/{ \"seq\":/' e/journal.jsonl", 3, value, "not a journal line written the canonical way"),
    ]
    for (what, edit, status, line, words) in cases {
      try box.mustSh("rm -rf e && cp -r j e && \(edit)")
      #expect(try box.read("e/journal.jsonl") != box.read("j/journal.jsonl"), "\(what): the edit changed nothing")
      let r = try box.rehost("runbook", "verify", "e")
      #expect(r.status == status, "\(what): exit \(r.status), expected \(status): \(r.output)")
      #expect(r.stderr.contains("e/journal.jsonl:\(line): ") && r.stderr.contains(words), "\(what): expected line \(line), \(words): \(r.stderr)")
      // A run refuses to continue such a journal (a truncated line is the one it repairs).
      if status != 3 {
        let resumed = try Self.runShort(box, journal: "e")
        #expect(resumed.status == status, "\(what): run on it: \(resumed.output)")
      }
    }
    // Held to a stricter policy, the genuine journal fails there and only there.
    try box.mustSh("grep -v '^trust ispx' policy.txt | sed 's/^trust isp.pub as isp-witness.*$/trust isp.pub as notary/' > strict.txt")
    let strict = try box.rehost("runbook", "verify", "j", "--policy", "strict.txt")
    #expect(strict.status == 7 && strict.stderr.contains("j/journal.jsonl:\(witness + 1): ") && strict.stderr.contains("not trusted by strict.txt as isp-witness"),
            "\(strict.output)")
  }

  /// The README's promise: an auditor checks any line with openssl, sha256sum, sed and base64.
  @Test func stockToolsProcedureChecksEveryLineAndCatchesAnAlteredOne() throws {
    let box = try Self.prepared()
    #expect(try Self.runShort(box).status == 0)
    try box.mustSh("""
      sed -n '/<!-- journal-procedure:begin -->/,/<!-- journal-procedure:end -->/p' '\(packageRoot)/docs/RUNBOOK.md' \\
        | grep -v -e '^<!--' -e '^```' > procedure.sh
      """)
    let lines = try Self.journalLines(box)
    for n in 1...lines.count {
      let r = try box.sh("bash -e procedure.sh", environment: ["JOURNAL": "j/journal.jsonl", "N": "\(n)"])
      #expect(r.status == 0, "line \(n): \(r.output)")
      #expect(r.output.contains("Signature Verified Successfully") && r.output.contains("actor key OK"), "line \(n): \(r.output)")
      if n > 1 { #expect(r.output.contains("chain OK"), "line \(n): \(r.output)") }
      if lines[n - 1].contains(#""event":"witnessed""#) {
        #expect(r.output.components(separatedBy: "Signature Verified Successfully").count == 3 && r.output.contains("rehost-runbook-witness/1"),
                "line \(n): the witness's own signature was not checked: \(r.output)")
      }
    }
    let value = try Self.line(lines, #""event":"value","step":"bag-sealed""#)
    try box.mustSh("cp j/journal.jsonl altered.jsonl && sed -i '\(value)s/BAG-0042/BAG-0043/' altered.jsonl")
    let altered = try box.sh("bash -e procedure.sh", environment: ["JOURNAL": "altered.jsonl", "N": "\(value)"])
    #expect(altered.status != 0 && !altered.output.contains("Signature Verified Successfully"), "\(altered.output)")
    let next = try box.sh("bash -e procedure.sh", environment: ["JOURNAL": "altered.jsonl", "N": "\(value + 1)"])
    #expect(next.status != 0 && next.output.contains("FAILED: prev is not the line above's SHA-256"), "\(next.output)")
    try box.mustSh("cp j/journal.jsonl deleted.jsonl && sed -i '\(value)d' deleted.jsonl")
    let deleted = try box.sh("bash -e procedure.sh", environment: ["JOURNAL": "deleted.jsonl", "N": "\(value)"])
    #expect(deleted.status != 0 && deleted.output.contains("FAILED: prev"), "\(deleted.output)")
  }

  // MARK: Witnesses and values

  @Test func witnessesWithoutTheRoleOrTwiceThePersonAreRefused() throws {
    let box = try Self.prepared()
    let cases: [(String, String, String)] = [
      ("the same key twice", "[auditor.key, auditor.key]", "has already signed this step"),
      ("one person's two keys", "[isp.key, isp-laptop.key]", "has already signed this step"),
      ("a key without the role", "[auditor.key, operator.key]", "is not trusted by"),
      ("a key outside the policy", "[outsider.key, auditor.key]", "is not trusted by"),
      ("too few witnesses", "[auditor.key]", "needs 2 witnesses"),
    ]
    for (index, (what, keys, words)) in cases.enumerated() {
      try box.write("a\(index).yaml", Array(Self.answers.replacingOccurrences(of: "[auditor.key, isp.key]", with: keys).utf8))
      let r = try Self.runShort(box, journal: "w\(index)", answers: "a\(index).yaml")
      #expect(r.status == (what == "too few witnesses" ? 2 : 7), "\(what): \(r.output)")
      #expect(r.stderr.contains(words) && r.stderr.contains("sealing-witnessed"), "\(what): \(r.stderr)")
      // Nothing refused is in the journal, which stays genuine; the step is not finished.
      let lines = try Self.journalLines(box, "w\(index)")
      #expect(!lines.contains { $0.contains(#""event":"finished","step":"sealing-witnessed""#) })
      #expect(lines.filter { $0.contains(#""event":"witnessed""#) }.count <= 1)
      #expect(try box.rehost("runbook", "verify", "w\(index)").status == 0)
    }
    // Corrected answers complete the same run: the witnesses in the order they sign.
    try box.write("fixed.yaml", Array(Self.answers.replacingOccurrences(of: "[auditor.key, isp.key]", with: "[isp.key, auditor.key]").utf8))
    let fixed = try Self.runShort(box, journal: "w1", answers: "fixed.yaml")
    #expect(fixed.status == 0, "\(fixed.output)")
    #expect(try box.rehost("runbook", "verify", "w1").status == 0)
  }

  @Test func aBagSerialOnArrivalThatDiffersFailsTheStep() throws {
    let box = try Self.prepared()
    try box.write("wrong.yaml", Array(Self.answers.replacingOccurrences(of: "bag-opened: BAG-0042", with: "bag-opened: BAG-0043").utf8))
    let r = try Self.runShort(box, answers: "wrong.yaml")
    #expect(r.status == 7 && r.stderr.contains("step `bag-opened`: BAG-0043 differs from bag-sealed.value, recorded as BAG-0042"), "\(r.output)")
    let lines = try Self.journalLines(box)
    #expect(lines.last?.contains(#""event":"value","step":"bag-opened","value":"BAG-0043","matches":false"#) == true, "\(lines.last ?? "")")
    #expect(!box.exists("runs.txt"), "the run went on past the mismatch")
    #expect(try box.rehost("runbook", "verify", "j").status == 0)
    let status = try box.rehost("runbook", "status", "j")
    #expect(status.stdout.contains("next: step bag-opened"), "\(status.output)")
    // A value that does not match the pattern is refused before it is journalled.
    try box.mustSh("rm -rf j")
    try box.write("pattern.yaml", Array(Self.answers.replacingOccurrences(of: "bag-sealed: BAG-0042", with: "bag-sealed: bag 42").utf8))
    let pattern = try Self.runShort(box, answers: "pattern.yaml")
    #expect(pattern.status == 2 && pattern.stderr.contains("does not match BAG-[0-9]{4}"), "\(pattern.output)")
    #expect(try !Self.journalLines(box).contains { $0.contains("bag 42") })
    // With the right bag the run completes.
    #expect(try Self.runShort(box).status == 0)
  }

  @Test func aFailedCheckStopsTheRunUntilItPassesOrAnExceptionIsRecorded() throws {
    let box = try Self.prepared()
    try box.mustSh("touch check-fails")
    let failed = try Self.runShort(box)
    #expect(failed.status == 1 && failed.stderr.contains("step `arrival-checked` failed"), "\(failed.output)")
    let retry = Self.answers + "arrival-checked: {failed: retry}\n"
    try box.write("retry.yaml", Array(retry.utf8))
    #expect(try Self.runShort(box, answers: "retry.yaml").stderr.contains("would fail again"))
    // Fixed: the check runs again and passes.
    try box.mustSh("rm check-fails")
    #expect(try Self.runShort(box).status == 0)
    // Or accepted, with a reason that becomes an exception in the journal and the report.
    try box.mustSh("touch check-fails")
    let accept = Self.answers + "arrival-checked: {failed: accept, reason: \"the seal was checked by hand\"}\n"
    try box.write("accept.yaml", Array(accept.utf8))
    let accepted = try Self.runShort(box, journal: "k", answers: "accept.yaml")
    #expect(accepted.status == 0 && accepted.stdout.contains("failure accepted"), "\(accepted.output)")
    #expect(try Self.journalLines(box, "k").contains { $0.contains(#""kind":"check-failed-accepted","reason":"the seal was checked by hand""#) })
    let report = try box.rehost("runbook", "report", "k", "--format", "md")
    #expect(report.stdout.contains("the seal was checked by hand"), "\(report.output)")
    // A skipped step needs a reason too.
    let skip = Self.answers + "arrival-checked: {skip: \"\"}\n"
    try box.write("skip.yaml", Array(skip.utf8))
    let noReason = try Self.runShort(box, journal: "s", answers: "skip.yaml")
    #expect(noReason.status == 2 && noReason.stderr.contains("needs a reason"), "\(noReason.output)")
  }

  // MARK: Stopped and resumed

  /// Shell functions for the kill tests: the run in the background, waiting for a file
  /// to hold a text, the process group a stopped run's command still runs in.
  static let shellHelpers = """
    start() { '\(rehostBinary)' runbook run short.yaml --journal j --as 'Olga Operator' --key operator.key --answers "$1" >run.out 2>run.err & pid=$!; }
    waitfor() { for _ in $(seq 400); do grep -qs -- "$2" "$1" && return 0; sleep 0.025; done; echo "timed out waiting for $2 in $1" >&2; exit 1; }
    group() { cat j/output/*.pid 2>/dev/null | head -1; }
    # Whether process group $1 has a member that is not a zombie (this machine's init may not reap).
    alive() { ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; }
    stopgroup() { kill -KILL -- -"$1" 2>/dev/null; while alive "$1"; do sleep 0.02; done; }

    """

  @Test func sigkillDuringCommandsThenResumeAsksBeforeRunningANonIdempotentOneAgain() throws {
    let box = try Self.prepared()
    try box.write("retry.yaml", Array((Self.answers + "slow: {interrupted: retry}\n").utf8))
    // Killed outright while `slow` runs: its command outlives rehost.
    try box.mustSh(Self.shellHelpers + """
      touch hold-slow hold-tidy
      start answers.yaml; waitfor runs.txt start; kill -KILL $pid; wait $pid || true
      test -n "$(group)" && alive $(group)
      """)
    let stillRunning = try Self.runShort(box)
    #expect(stillRunning.status == 8 && stillRunning.stderr.contains("the command of step `slow` that the stopped run started is still running (process group"),
            "\(stillRunning.output)")
    try box.mustSh(Self.shellHelpers + "stopgroup $(group); rm hold-slow")
    let undecided = try Self.runShort(box)
    #expect(undecided.status == 1 && undecided.stderr.contains("was started by a run that stopped, and is not idempotent")
            && undecided.stderr.contains("{interrupted: retry|done|skip"), "\(undecided.output)")
    #expect(try box.sh("cat runs.txt").stdout == "start\n", "the command ran again without a decision")
    // Retried by decision; then killed in the idempotent `tidy`, which a resumed run re-runs on its own.
    try box.mustSh(Self.shellHelpers + """
      start retry.yaml; waitfor tidy.txt tidy; kill -KILL $pid; wait $pid || true
      stopgroup $(group); rm hold-tidy
      """)
    #expect(try box.sh("cat runs.txt").stdout == "start\nstart\nend\n")
    let resumed = try Self.runShort(box, answers: "retry.yaml")
    #expect(resumed.status == 0 && resumed.stdout.contains("Resuming A short move: 6 of 8 steps done"), "\(resumed.output)")
    #expect(try box.sh("cat tidy.txt").stdout == "tidy\ntidy\n")
    let verify = try box.rehost("runbook", "verify", "j")
    #expect(verify.status == 0 && verify.stdout.contains("the run is complete"), "\(verify.output)")
    let lines = try Self.journalLines(box)
    #expect(lines.filter { $0.contains(#""kind":"rerun-after-interruption""#) && $0.contains(#""step":"slow""#) }.count == 1)
    #expect(lines.filter { $0.contains(#""event":"started","step":"slow""#) }.count == 2)
    #expect(lines.filter { $0.contains(#""event":"started","step":"tidy""#) }.count == 2)
    // Resumed by every run after the first, the refused ones too.
    #expect(lines.filter { $0.contains(#""event":"resumed""#) }.count == 4)
  }

  @Test func sigkillDuringAWitnessThenResume() throws {
    let box = try Self.prepared()
    // The second witness's key is encrypted, its passphrase read from a FIFO that a
    // holder keeps open and never writes: the run waits there when it is killed.
    let answers = Self.answers.replacingOccurrences(of: "[auditor.key, isp.key]", with: "[auditor.key, {key: ispx.key, passphrase-file: ispx.fifo}]")
    try box.write("fifo.yaml", Array(answers.utf8))
    try box.mustSh(Self.shellHelpers + """
      mkfifo ispx.fifo; (exec 3<>ispx.fifo; sleep 60) & holder=$!
      start fifo.yaml; waitfor j/journal.jsonl '"event":"witnessed"'; sleep 0.3
      kill -0 $pid; kill -KILL $pid; wait $pid || true; kill $holder
      """)
    let lines = try Self.journalLines(box)
    #expect(lines.last?.contains(#""event":"witnessed","step":"sealing-witnessed""#) == true, "\(lines.last ?? "")")
    #expect(try box.rehost("runbook", "verify", "j").status == 0)
    try box.mustSh("rm ispx.fifo && cp ispx.pass ispx.fifo")
    let resumed = try Self.runShort(box, answers: "fifo.yaml")
    #expect(resumed.status == 0, "\(resumed.output)")
    let after = try Self.journalLines(box)
    let witnesses = after.filter { $0.contains(#""event":"witnessed","step":"sealing-witnessed""#) }
    #expect(witnesses.count == 2 && witnesses[0].contains(#""role":"auditor""#) && witnesses[1].contains(#""role":"isp-witness""#))
    #expect(try box.rehost("runbook", "verify", "j").status == 0)
  }

  @Test func sigkillAtRandomPointsAlwaysLeavesAJournalARunCanContinue() throws {
    let box = try Self.prepared()
    try box.write("retry.yaml", Array((Self.answers + "pack: {interrupted: retry}\nslow: {interrupted: retry}\n").utf8))
    let started = Date()
    #expect(try Self.runShort(box, journal: "timing").status == 0)
    let whole = Date().timeIntervalSince(started)
    for round in 0..<12 {
      let delay = Double.random(in: 0...(whole * 1.1))
      try box.mustSh(Self.shellHelpers + """
        rm -rf j runs.txt tidy.txt
        start retry.yaml; sleep \(String(format: "%.3f", delay)); kill -KILL $pid 2>/dev/null; wait $pid || true
        for f in j/output/*.pid; do [ -e "$f" ] && stopgroup $(cat "$f"); done; true
        """)
      // What a crash leaves verifies, or its last line is cut short (the run repairs that).
      if try box.exists("j/journal.jsonl") && !box.read("j/journal.jsonl").isEmpty {
        let v = try box.rehost("runbook", "verify", "j")
        #expect(v.status == 0 || (v.status == 3 && v.stderr.contains("the last line is incomplete")), "round \(round) after \(delay) s: \(v.output)")
      }
      let resumed = try Self.runShort(box, answers: "retry.yaml")
      #expect(resumed.status == 0, "round \(round) after \(delay) s: \(resumed.output)")
      let verify = try box.rehost("runbook", "verify", "j")
      #expect(verify.status == 0 && verify.stdout.contains("the run is complete"), "round \(round): \(verify.output)")
      let lines = try Self.journalLines(box)
      for step in ["announce", "bag-sealed", "pack", "sealing-witnessed", "bag-opened", "slow", "tidy", "arrival-checked"] {
        #expect(lines.filter { $0.contains(#""event":"finished","step":"\#(step)""#) }.count == 1, "round \(round): \(step)")
      }
      // `slow` ran once more only when the operator's answer said so (a rerun exception).
      let reruns = lines.filter { $0.contains(#""step":"slow""#) && $0.contains(#""kind":"rerun-after-interruption""#) }.count
      // (A run killed between journalling `started` and the shell's first line reruns it
      // without the first start having printed.)
      let starts = Int(try box.sh("grep -c start runs.txt").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
      #expect(starts >= 1 && starts <= 1 + reruns, "round \(round): slow started \(starts) times with \(reruns) reruns")
    }
  }

  @Test func aCommandThatEndedBeforeTheRunStoppedIsNotRunAgain() throws {
    let box = try Self.prepared()
    #expect(try Self.runShort(box).status == 0)
    // As if the run died right after journalling the command's output.
    let lines = try Self.journalLines(box)
    let output = try Self.line(lines, #""event":"output","step":"slow""#)
    try box.mustSh("head -n \(output) j/journal.jsonl > cut && mv cut j/journal.jsonl")
    let resumed = try Self.runShort(box)
    #expect(resumed.status == 0 && resumed.stdout.contains("its command ended with 0 before the run stopped"), "\(resumed.output)")
    #expect(try box.sh("cat runs.txt").stdout == "start\nend\n")
    #expect(try box.rehost("runbook", "verify", "j").status == 0)
  }

  @Test func signalsStopTheCommandAndSayHowToResume() throws {
    let box = try Self.prepared()
    try box.mustSh(Self.shellHelpers + """
      touch hold-slow
      start answers.yaml; waitfor runs.txt start; group > group.txt
      '\(rehostBinary)' runbook run short.yaml --journal j --as Olga --key operator.key --answers answers.yaml > second.out 2>&1; echo "second $?" >> second.out
      kill -TERM $pid; wait $pid; echo "status $?" > status.txt
      """)
    // A second run on the same journal meanwhile is refused: one run at a time.
    let second = try box.sh("cat second.out").stdout
    #expect(second.contains("second 8") && second.contains("another rehost run is busy"), "\(second)")
    #expect(try box.sh("cat status.txt").stdout == "status 143\n")
    let stderr = try box.sh("cat run.err").stdout
    #expect(stderr.contains("interrupted") && stderr.contains("the journal is consistent") && stderr.contains("run the same `rehost runbook run` again"), "\(stderr)")
    // The command's whole process group was stopped with the run.
    #expect(try box.sh(Self.shellHelpers + "alive $(cat group.txt)").status != 0, "the command outlived the run")
    #expect(try box.rehost("runbook", "verify", "j").status == 0)
    let status = try box.rehost("runbook", "status", "j")
    #expect(status.stdout.contains("next: step slow") && status.stdout.contains("its command was started by a run that stopped"), "\(status.output)")
    // Marked done by the operator, with a reason, instead of running it again.
    try box.mustSh("rm hold-slow")
    try box.write("done.yaml", Array((Self.answers + "slow: {interrupted: done, reason: \"finished by hand after the stop\"}\n").utf8))
    let resumed = try Self.runShort(box, answers: "done.yaml")
    #expect(resumed.status == 0 && resumed.stdout.contains("marked done without running it again"), "\(resumed.output)")
    #expect(try box.sh("cat runs.txt").stdout == "start\n")
    #expect(try Self.journalLines(box).contains { $0.contains(#""kind":"marked-done","reason":"finished by hand after the stop""#) })
    #expect(try box.rehost("runbook", "verify", "j").status == 0)
  }

  @Test func resumeKeepsTheRunbookTheParamsAndTheJournalWhole() throws {
    let box = try Self.prepared()
    try box.write("half.yaml", Array("announce: yes\nbag-sealed: BAG-0042\n".utf8))
    let half = try Self.runShort(box, answers: "half.yaml")
    #expect(half.status == 2 && half.stderr.contains("has no answer for step `sealing-witnessed`"), "\(half.output)")
    // Other params for the same run are refused.
    let params = try Self.runShort(box, journal: "j", "--param", "note=Ede")
    #expect(params.status == 2 && params.stderr.contains("this run began with note=Vienna"), "\(params.output)")
    // A changed runbook is refused, or accepted as an exception.
    try box.mustSh("cp short.yaml original.yaml && sed -i 's/title: A check/title: A check, renamed/' short.yaml")
    let changed = try Self.runShort(box)
    #expect(changed.status == 6 && changed.stderr.contains("has changed since this run began"), "\(changed.output)")
    // A last line cut short by a crash is dropped and that is journalled.
    try box.mustSh("truncate -s -30 j/journal.jsonl")
    let accepted = try Self.runShort(box, journal: "j", "--accept-changed-runbook", "retitled a step")
    #expect(accepted.status == 0, "\(accepted.output)")
    let lines = try Self.journalLines(box)
    #expect(lines.contains { $0.contains(#""kind":"runbook-changed""#) && $0.contains("retitled a step") })
    #expect(lines.contains { $0.contains(#""kind":"partial-line-dropped","bytes":"#) })
    #expect(try box.rehost("runbook", "verify", "j").status == 0)
    // Verified against the runbook the run began with, the journal says it moved on to another.
    let old = try box.rehost("runbook", "verify", "j", "--runbook", "original.yaml")
    #expect(old.status == 4 && old.stderr.contains("follows another runbook"), "\(old.output)")
    // Someone else's key may not run it.
    let outsider = try box.rehost("runbook", "run", "short.yaml", "--journal", "o", "--as", "Mallory", "--key", "outsider.key", "--answers", "answers.yaml")
    #expect(outsider.status == 7 && outsider.stderr.contains("it may not run this runbook") && !box.exists("o/journal.jsonl"), "\(outsider.output)")
  }

  // MARK: On a terminal

  @Test func interactiveRunOnAPseudoTerminal() throws {
    let box = try Self.prepared()
    let script = packageRoot + "/Tests/EndToEndTests/Scripts/answer-prompts.py"
    let prompts: [[String]] = [
      ["Done? [y]es, [s]kip", "y"],
      ["Serial number on the bag (or !skip)", "BAG-9"],         // refused: the pattern
      ["Serial number on the bag (or !skip)", "BAG-0042"],
      ["Run it? [y]es, [s]kip", "y"],                           // pack
      ["Witness 1 of 2: your key file", "operator.key"],        // refused: not a witness role
      ["Witness 1 of 2: your key file", "auditor.key"],
      ["Witness 2 of 2: your key file", "auditor.key"],         // refused: the same person
      ["Witness 2 of 2: your key file", "ispx.key"],
      ["Passphrase for ispx.key", "isp secret"],
      ["Serial number on the bag (or !skip)", "BAG-0042"],
      ["Run it? [y]es, [s]kip", "y"],                           // slow
      ["Run it? [y]es, [s]kip", "s"],                           // tidy, skipped
      ["Reason to skip this step", "nothing to tidy"],
      ["Run it? [y]es, [s]kip", "y"],                           // the check
    ]
    let json = String(decoding: try JSONSerialization.data(withJSONObject: prompts), as: UTF8.self)
    let r = try run("/usr/bin/env", ["python3", script, json, "--", rehostBinary, "runbook", "run", "short.yaml", "--journal", "t",
                                     "--as", "Olga Operator", "--key", "operator.key"], cwd: box.dir)
    #expect(r.status == 0, "\(r.output)")
    #expect(r.stdout.components(separatedBy: "[answered]").count == prompts.count + 1, "\(r.stdout)")
    for text in ["-- Step 2 of 8 (1 done): Bag serial at sealing", "`BAG-9` does not match BAG-[0-9]{4}", "is not trusted by",
                 "has already signed this step", "witnessed by ispx.pub as isp-witness", "packing BAG-0042 from Vienna",
                 "skipped (an exception in the journal): nothing to tidy", "Done: A short move, all 8 steps"] {
      #expect(r.stdout.contains(text), "the terminal did not show \(text)")
    }
    #expect(!r.stdout.contains("isp secret"), "the passphrase was echoed")
    let verify = try box.rehost("runbook", "verify", "t")
    #expect(verify.status == 0 && verify.stdout.contains("the run is complete"), "\(verify.output)")
    let lines = try Self.journalLines(box, "t")
    #expect(lines.filter { $0.contains(#""event":"witnessed""#) }.count == 2)
    #expect(lines.contains { $0.contains(#""kind":"skipped","reason":"nothing to tidy""#) })
    #expect(!box.exists("tidy.txt"))
    // Without a terminal and without answers, a run says what to do.
    let none = try box.rehost("runbook", "run", "short.yaml", "--journal", "n", "--as", "Olga", "--key", "operator.key")
    #expect(none.status == 2 && none.stderr.contains("there is no terminal to ask on"), "\(none.output)")
  }

  // MARK: The report

  @Test func theHTMLReportPrintsInARealBrowser() throws {
    let box = try Self.prepared()
    #expect(try Self.runShort(box).status == 0)
    let report = try box.rehost("runbook", "report", "j", "--format", "html", "--out", "report.html")
    #expect(report.status == 0, "\(report.output)")
    let html = String(decoding: try box.read("report.html"), as: UTF8.self)
    #expect(html.hasPrefix("<!DOCTYPE html>") && !html.contains("<script") && !html.contains("src=") && !html.contains("href="), "not self-contained")
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    let browser = try #require(chromium, "Debian's chromium is missing: make test-deps installs it")
    let print = try box.sh("""
      '\(browser)' --headless --no-sandbox --disable-gpu --no-pdf-header-footer --user-data-dir="$PWD/chromium-profile" \\
        --print-to-pdf="$PWD/report.pdf" "file://$PWD/report.html" && pdftotext -layout report.pdf report.txt
      """)
    #expect(print.status == 0, "\(print.output)")
    let text = String(decoding: try box.read("report.txt"), as: UTF8.self)
    for words in ["A short move", "the journal verifies", "Announce the downtime", "Bag serial at sealing", "Pack the disk",
                  "The bag is sealed under witness", "Bag serial on arrival", "A command that is not idempotent", "An idempotent command",
                  "A check", "BAG-0042", "5f3a", "auditor.pub", "isp.pub", "Olga Operator"] {
      #expect(text.contains(words), "the printed report lacks \(words)")
    }
    // Nothing is cut off at the page's edge: every output digest is there whole.
    let flat = text.filter { !$0.isWhitespace }
    for line in try Self.journalLines(box) where line.contains(#""output_sha256":""#) {
      let digest = String(line.components(separatedBy: #""output_sha256":""#)[1].prefix(64))
      #expect(flat.contains(digest), "the printed report lacks \(digest)")
    }
  }
}
