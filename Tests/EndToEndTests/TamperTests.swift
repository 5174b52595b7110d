import Foundation
import Testing

/// Every way an archive or seal can be damaged gets its own error and exit code, and
/// restore leaves nothing behind.
@Suite(.serialized) struct TamperTests {
  /// A sandbox with two archives of the same data for the same custodian, in 4 KiB chunks.
  static func prepared() throws -> (Sandbox, headerLength: Int) {
    let box = try Sandbox()
    try box.keygen("operator", "custodian", "stranger")
    try box.makeSampleCA(at: "srv/ca")
    try box.mustSh("head -c 50000 /dev/urandom > srv/ca/intermediate/noise.bin")
    for name in ["ca.rehost", "other.rehost"] {
      let r = try box.rehost("snapshot", "srv/ca", "--out", name, "--recipient", "custodian.pub", "--sign", "operator.key",
                             "--chunk-size", "4096")
      #expect(r.status == 0, "\(r.output)")
    }
    let bytes = try box.read("ca.rehost")
    // The header ends after the line starting "mac ".
    let text = String(decoding: bytes.prefix(2048), as: UTF8.self)
    let macLine = text.range(of: "\nmac ")!
    let headerEnd = text[macLine.upperBound...].firstIndex(of: "\n")!
    return (box, text.utf8.distance(from: text.startIndex, to: headerEnd) + 1)
  }

  static let sealed = 4096 + 16

  /// Writes `bytes` as bad.rehost (with the good seal beside it) and expects restore and
  /// verify to fail with `code`, mentioning `words`, restoring nothing.
  func expectRejected(_ box: Sandbox, _ bytes: [UInt8], code: Int32, words: String?, keyFreeCode: Int32? = 3,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
    try box.write("bad.rehost", bytes)
    try box.mustSh("cp ca.rehost.seal bad.rehost.seal")
    let restore = try box.rehost("restore", "bad.rehost", "--to", "out", "--identity", "custodian.key", "--trust", "operator.pub")
    #expect(restore.status == code, "\(restore.output)", sourceLocation: sourceLocation)
    if let words { #expect(restore.stderr.contains(words), "\(restore.stderr)", sourceLocation: sourceLocation) }
    #expect(restore.stderr.contains("hint:"), sourceLocation: sourceLocation)
    try box.expectNothingRestored("out", sourceLocation: sourceLocation)
    let deep = try box.rehost("verify", "bad.rehost", "--trust", "operator.pub", "--identity", "custodian.key")
    #expect(deep.status == code, "\(deep.output)", sourceLocation: sourceLocation)
    if let keyFreeCode {
      let auditor = try box.rehost("verify", "bad.rehost", "--trust", "operator.pub")
      #expect(auditor.status == keyFreeCode, "\(auditor.output)", sourceLocation: sourceLocation)
    }
  }

  @Test func flippedBitsAnywhereAreCaught() throws {
    let (box, header) = try Self.prepared()
    let good = try box.read("ca.rehost")
    let positions = [5, header - 10, header + 3, header + Self.sealed + 100, header + 3 * Self.sealed - 1, good.count / 2, good.count - 1]
    for p in positions {
      var bad = good
      bad[p] ^= 0x04
      // In the payload, a key holder is told which chunk; the header's damage is named as such.
      try expectRejected(box, bad, code: 3, words: p < header ? "header" : "chunk")
    }
  }

  @Test func truncationAtAndBetweenChunkBoundariesIsCaught() throws {
    let (box, header) = try Self.prepared()
    let good = try box.read("ca.rehost")
    for cut in [header, header + Self.sealed, header + 2 * Self.sealed] {
      try expectRejected(box, Array(good[..<cut]), code: 3, words: "truncated")
    }
    try expectRejected(box, Array(good[..<10]), code: 3, words: "ends inside the header")
    try expectRejected(box, Array(good[..<(header + 7)]), code: 3, words: "ends inside chunk 0")
    try expectRejected(box, Array(good[..<(header + Self.sealed + 4000)]), code: 3, words: "chunk 1 ")
    try expectRejected(box, Array(good[..<(good.count - 1)]), code: 3, words: "chunk")
  }

  @Test func duplicatedSwappedAppendedAndForeignChunksAreCaught() throws {
    let (box, header) = try Self.prepared()
    let good = try box.read("ca.rehost")
    let s = Self.sealed
    func chunk(_ i: Int, of bytes: [UInt8] = good) -> [UInt8] { Array(bytes[(header + i * s)..<(header + (i + 1) * s)]) }
    let head = Array(good[..<header])
    let rest = Array(good[(header + 3 * s)...])
    try expectRejected(box, head + chunk(0) + chunk(1) + chunk(1) + chunk(2) + rest, code: 3, words: "chunk")
    try expectRejected(box, head + chunk(0) + chunk(2) + chunk(1) + rest, code: 3, words: "chunk 1")
    try expectRejected(box, good + [0x00], code: 3, words: "chunk")
    try expectRejected(box, good + Array(good[header...]), code: 3, words: "chunk")
    // Same data, same custodian, another archive: its chunk does not authenticate here.
    let other = try box.read("other.rehost")
    try expectRejected(box, head + chunk(0) + chunk(1, of: other) + Array(good[(header + 2 * s)...]), code: 3, words: "chunk 1")
  }

  @Test func sealProblemsAreSealErrors() throws {
    let (box, _) = try Self.prepared()
    // Missing seal.
    try box.mustSh("cp ca.rehost lone.rehost")
    let missing = try box.rehost("restore", "lone.rehost", "--to", "out", "--identity", "custodian.key", "--trust", "operator.pub")
    #expect(missing.status == 4 && missing.stderr.contains("no seal"), "\(missing.output)")
    try box.expectNothingRestored("out")
    // Modified statement (one digit of the entry count).
    try box.mustSh("cp ca.rehost m.rehost && sed 's/^Entries: \\([0-9]*\\)$/Entries: 9\\1/' ca.rehost.seal > m.rehost.seal && ! cmp -s ca.rehost.seal m.rehost.seal")
    let modified = try box.rehost("restore", "m.rehost", "--to", "out", "--identity", "custodian.key", "--trust", "operator.pub")
    #expect(modified.status == 4 && modified.stderr.contains("statement was altered"), "\(modified.output)")
    try box.expectNothingRestored("out")
    let modifiedVerify = try box.rehost("verify", "m.rehost", "--trust", "operator.pub")
    #expect(modifiedVerify.status == 4, "\(modifiedVerify.output)")
    // A forged signature value.
    try box.mustSh("cp ca.rehost f.rehost && sed 's/^Signature: A/Signature: B/; t; s/^Signature: ./Signature: A/' ca.rehost.seal > f.rehost.seal")
    let forged = try box.rehost("verify", "f.rehost", "--trust", "operator.pub")
    #expect(forged.status == 4 && forged.stderr.contains("does not verify"), "\(forged.output)")
    // Signed by a key the verifier does not trust.
    let untrusted = try box.rehost("restore", "ca.rehost", "--to", "out", "--identity", "custodian.key", "--trust", "stranger.pub")
    #expect(untrusted.status == 4 && untrusted.stderr.contains("no trusted key signed"), "\(untrusted.output)")
    try box.expectNothingRestored("out")
    // The seal of another archive.
    try box.mustSh("cp ca.rehost x.rehost && cp other.rehost.seal x.rehost.seal")
    let swapped = try box.rehost("verify", "x.rehost", "--trust", "operator.pub")
    #expect(swapped.status == 3 && swapped.stderr.contains("does not match its seal"), "\(swapped.output)")
  }

  @Test func wrongIdentityIsAKeyError() throws {
    let (box, _) = try Self.prepared()
    let wrong = try box.rehost("restore", "ca.rehost", "--to", "out", "--identity", "stranger.key", "--trust", "operator.pub")
    #expect(wrong.status == 5 && wrong.stderr.contains("none of the given keys"), "\(wrong.output)")
    try box.expectNothingRestored("out")
    let verify = try box.rehost("verify", "ca.rehost", "--trust", "operator.pub", "--identity", "stranger.key")
    #expect(verify.status == 5, "\(verify.output)")
  }

  @Test func usageErrorsExitWithTwo() throws {
    let box = try Sandbox()
    #expect(try box.rehost("restore", "nothing.rehost", "--to", "x").status == 2)
    #expect(try box.rehost("snapshot", "--out", "a.rehost").status == 2)
    #expect(try box.rehost("verify", "missing.rehost", "--trust", "missing.pub").status == 2)
    #expect(try box.rehost("bogus").status == 2)
    #expect(try box.rehost("--help").status == 0)
    // 1-of-0 once crashed the parser of --custodians (and of a header's share stanza).
    try box.keygen("op")
    let zero = try box.rehost("snapshot", "op.pub", "--out", "z.rehost", "--custodians", "1-of-0", "--sign", "op.key")
    #expect(zero.status == 2 && zero.stderr.contains("K-of-N"), "\(zero.output)")
  }
}

/// The README's procedure for auditors, run as written with stock tools only.
@Suite struct AuditorProcedureTests {
  static func procedure() throws -> String {
    let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
    let begin = try #require(readme.range(of: "<!-- auditor-procedure:begin -->"))
    let end = try #require(readme.range(of: "<!-- auditor-procedure:end -->"))
    let block = readme[begin.upperBound..<end.lowerBound]
    return block.replacingOccurrences(of: "```sh", with: "").replacingOccurrences(of: "```", with: "")
  }

  @Test("the README's block passes a real seal and fails closed, in bash and dash without set -e, on tampered ones",
        arguments: ["bash", "dash"])
  func readmeProcedure(shell: String) throws {
    let script = try Self.procedure()
    #expect(script.contains("openssl pkeyutl -verify"))
    #expect(!script.contains("rehost ") && !script.contains("set -e"))
    let box = try Sandbox()
    try box.keygen("operator", "custodian", "auditor", "mallory")
    try box.makeSampleCA(at: "srv/ca")
    #expect(try box.rehost("snapshot", "srv/ca", "--out", "ca.rehost", "--recipient", "custodian.pub", "--sign", "operator.key").status == 0)
    try box.write("procedure.sh", Array(script.utf8))
    let env = ["ARCHIVE": "ca.rehost", "SEAL": "ca.rehost.seal", "SIGNER": "operator.pub", "K": "1", "ROLE": "sealer",
               "PATH": "/usr/bin:/bin"]  // no rehost on the PATH
    /// Runs the block as pasted: no -e, read from standard input.
    func audit(_ changes: [String: String] = [:]) throws -> RunResult {
      try box.sh("\(shell) < procedure.sh", environment: env.merging(changes) { $1 })
    }
    func expectFailed(_ r: RunResult, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
      #expect(r.status != 0 && r.stderr.contains("AUDIT FAILED") && !r.stdout.contains("AUDIT PASSED"), "\(r.output)", sourceLocation: sourceLocation)
      #expect(r.stderr.contains(words), "expected '\(words)': \(r.stderr)", sourceLocation: sourceLocation)
      // Nothing after the first failure ran.
      #expect(!r.stdout.contains("Signature Verified Successfully"), "\(r.output)", sourceLocation: sourceLocation)
    }
    let good = try audit()
    #expect(good.status == 0, "\(good.output)")
    #expect(good.stdout.contains("ca.rehost: OK") && good.stdout.contains("Signature Verified Successfully"))
    #expect(good.stdout.hasSuffix("AUDIT PASSED: ca.rehost, signature 1 by operator.pub as sealer\n"), "\(good.stdout)")

    // A flipped byte in the archive.
    try box.mustSh("cp ca.rehost t.rehost && " + flipByteCommand("t.rehost", at: 3000) + " && ! cmp -s ca.rehost t.rehost")
    expectFailed(try audit(["ARCHIVE": "t.rehost"]), "the archive's SHA-256 is not the sealed one")
    // An altered statement.
    try box.mustSh("sed 's/^Content-Bytes: /Content-Bytes: 1/' ca.rehost.seal > t.seal")
    expectFailed(try audit(["SEAL": "t.seal"]), "signature 1 is over another statement")
    // An altered signature block (role changed), statement intact.
    try box.mustSh("sed 's/^Role: sealer$/Role: auditor/' ca.rehost.seal > r.seal")
    expectFailed(try audit(["SEAL": "r.seal"]), "signature 1 is not in the role sealer")
    // Another signer's public key.
    expectFailed(try audit(["SIGNER": "mallory.pub"]), "signature 1 is not by mallory.pub")
    // A second statement appended.
    try box.mustSh("sed -n '/STATEMENT-----$/,/END REHOST SEAL STATEMENT/p' ca.rehost.seal | cat ca.rehost.seal - > two.seal")
    expectFailed(try audit(["SEAL": "two.seal"]), "does not hold exactly one statement")
    // A signature the seal does not have.
    expectFailed(try audit(["K": "2", "ROLE": "auditor", "SIGNER": "auditor.pub"]), "has no signature 2")

    // The auditor's countersignature, checked in its role; the sealer's role is not the auditor's.
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor").status == 0)
    let witness = try audit(["K": "2", "ROLE": "auditor", "SIGNER": "auditor.pub"])
    #expect(witness.status == 0 && witness.stdout.contains("AUDIT PASSED"), "\(witness.output)")
    expectFailed(try audit(["K": "2", "ROLE": "sealer", "SIGNER": "auditor.pub"]), "signature 2 is not in the role sealer")

    // The operator's valid signature over a statement that names mallory as its sealer
    // (built here with openssl: a forged statement, not a broken signature).
    try box.mustSh("""
      set -e
      FPR=$(openssl pkey -pubin -in mallory.pub -outform DER | sha256sum | cut -d' ' -f1)
      sed -n '/^-----BEGIN REHOST SEAL STATEMENT-----$/,/^-----END REHOST SEAL STATEMENT-----$/p' ca.rehost.seal \\
        | sed "s/^Sealer: .*/Sealer: $FPR/" > s.txt
      awk '/^-----BEGIN REHOST SIGNATURE-----$/{n++} n==1 && /^Signature: /{exit} n==1{print}' ca.rehost.seal \\
        | sed "s/^Statement-SHA256: .*/Statement-SHA256: $(sha256sum < s.txt | cut -d' ' -f1)/" > b.txt
      openssl pkeyutl -sign -inkey operator.key -rawin -in b.txt -out sig.bin
      { cat s.txt b.txt; echo "Signature: $(base64 -w0 sig.bin)"; echo '-----END REHOST SIGNATURE-----'; } > forged.seal
      """)
    expectFailed(try audit(["SEAL": "forged.seal"]), "the statement names another sealer")
  }
}
