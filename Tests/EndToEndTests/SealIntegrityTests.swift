import Foundation
import Testing

/// The seal: exactly the bytes that were signed. Every signature block verifies on its
/// own (it carries its signer's public key), so an altered, duplicated or reordered
/// block is an altered seal (exit 4, naming it), whether or not its signer is trusted.
@Suite(.serialized) struct SealIntegrityTests {
  static func prepared(label: String = "moved to Ede") throws -> Sandbox {
    let box = try Sandbox()
    try box.keygen("operator", "custodian", "auditor", "isp")
    try box.mustSh("mkdir -p srv/ca && echo k > srv/ca/key.pem")
    let r = try box.rehost("snapshot", "srv/ca", "--out", "ca.rehost", "--recipient", "custodian.pub", "--sign", "operator.key", "--label", label)
    #expect(r.status == 0, "\(r.output)")
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor", "--bag", "BAG-1").status == 0)
    try box.mustSh("cp ca.rehost.seal good.seal")
    return box
  }

  func verify(_ box: Sandbox, trusting: [String] = ["operator.pub", "auditor.pub"]) throws -> RunResult {
    try box.sh("printf 'trust operator.pub as sealer\\ntrust auditor.pub as auditor\\ntrust isp.pub as isp-witness\\n' > policy && '\(rehostBinary)' verify ca.rehost --policy policy")
  }

  /// The README's stock-tools procedure for signature K.
  /// The README's stock-tool procedure for signature `k` by `signer` in `role`, as pasted (no -e).
  func auditorProcedure(_ box: Sandbox, k: Int, signer: String, role: String = "sealer") throws -> RunResult {
    try box.sh(try AuditorProcedureTests.procedure(),
               environment: ["ARCHIVE": "ca.rehost", "SEAL": "ca.rehost.seal", "SIGNER": signer, "K": String(k), "ROLE": role, "PATH": "/usr/bin:/bin"])
  }

  @Test func aSealThatIsNotUTF8IsMalformedForRehostAndForStockTools() throws {
    let box = try Self.prepared(label: "sealed in Vienna \u{FFFD}")
    #expect(try verify(box).status == 0)
    #expect(try auditorProcedure(box, k: 1, signer: "operator.pub").status == 0)
    // U+FFFD's bytes (EF BF BD) replaced by one FF: a lossy decoder reads the same text.
    try box.mustSh("python3 -c \"import sys; d=open('good.seal','rb').read(); open('ca.rehost.seal','wb').write(d.replace(b'\\xef\\xbf\\xbd', b'\\xff'))\" && ! cmp -s good.seal ca.rehost.seal")
    let r = try verify(box)
    #expect(r.status == 4 && r.stderr.contains("not UTF-8"), "\(r.output)")
    #expect(try auditorProcedure(box, k: 1, signer: "operator.pub").status != 0)
  }

  @Test func duplicatedReorderedAndAlteredBlocksAreAnAlteredSeal() throws {
    let box = try Self.prepared()
    let blocks = "sed -n '/^-----BEGIN REHOST SIGNATURE-----$/,$p' good.seal"
    let statement = "sed -n '1,/^-----END REHOST SEAL STATEMENT-----$/p' good.seal"
    let cases: [(String, String)] = [
      // The auditor's block appended again.
      ("cp good.seal ca.rehost.seal && \(blocks) | tail -n 9 >> ca.rehost.seal", "repeats signature 2"),
      // The witness's block moved before the sealer's.
      ("{ \(statement); \(blocks) | tail -n 9; \(blocks) | head -n 8; } > ca.rehost.seal", "sealer"),
      // The witness's Key: changed to the isp's fingerprint (a trusted key): not "not counted".
      ("sed \"s/^Key: $(openssl pkey -pubin -in auditor.pub -outform DER | sha256sum | cut -d' ' -f1)$/Key: $(openssl pkey -pubin -in isp.pub -outform DER | sha256sum | cut -d' ' -f1)/\" good.seal > ca.rehost.seal",
       "signature 2 (auditor"),
      // The sealer's Key: changed.
      ("sed \"0,/^Key: /s/^Key: .*/Key: $(openssl pkey -pubin -in isp.pub -outform DER | sha256sum | cut -d' ' -f1)/\" good.seal > ca.rehost.seal",
       "signature 1 (sealer"),
      // A block's Bag: changed.
      ("sed 's/^Bag: BAG-1$/Bag: BAG-2/' good.seal > ca.rehost.seal", "signature 2 (auditor"),
      // A blank line between the blocks.
      ("{ \(statement); echo; \(blocks); } > ca.rehost.seal", "malformed"),
    ]
    for (edit, words) in cases {
      try box.mustSh(edit + " && ! cmp -s good.seal ca.rehost.seal")
      let r = try verify(box)
      #expect(r.status == 4 && r.stderr.contains(words), "\(edit)\n\(r.output)")
      // restore refuses the same way, before decrypting anything.
      let restore = try box.rehost("restore", "ca.rehost", "--to", "out", "--identity", "custodian.key", "--trust", "operator.pub")
      #expect(restore.status == 4, "\(edit)\n\(restore.output)")
      try box.expectNothingRestored("out")
    }
  }

  @Test func sealSignRefusesABrokenSealAndTheSealersRole() throws {
    let box = try Self.prepared()
    // One character of the sealer's signature changed.
    try box.mustSh("python3 -c \"d=open('good.seal').read(); i=d.index('Signature: ')+11; open('ca.rehost.seal','w').write(d[:i]+('A' if d[i]!='A' else 'B')+d[i+1:])\"")
    let r = try box.rehost("seal", "sign", "ca.rehost", "--key", "isp.key", "--role", "isp-witness")
    #expect(r.status == 4 && r.stderr.contains("signature 1 (sealer"), "\(r.output)")
    #expect(!(String(decoding: try box.read("ca.rehost.seal"), as: UTF8.self).contains("isp-witness")))
    try box.mustSh("cp good.seal ca.rehost.seal")
    let sealer = try box.rehost("seal", "sign", "ca.rehost", "--key", "isp.key", "--role", "sealer")
    #expect(sealer.status == 2, "\(sealer.output)")
  }

  @Test func aStatementThatDisagreesWithItsManifestFailsDeepVerify() throws {
    let box = try Sandbox()
    try box.keygen("sealer", "custodian")
    // A validly signed seal whose Host, Source or Created is not what the manifest records.
    for (field, value) in [("Host", "ca2"), ("Source", "/srv/other"), ("Created", "2030-01-01T00:00:00Z"), ("Label", "x")] {
      try box.mustSh("""
        python3 - <<'PY'
        import sys; sys.path.insert(0, "\(packageRoot)/contrib/python")
        from rehost_format import *
        w = write_archive([Entry(b"ca", "directory", 0o755)], recipients=[load_public("custodian.pub").encryption], sources=[("ca", "/srv/ca")])
        def tweak(fields):
            out = [(k, "\(value)" if k == "\(field)" else v) for k, v in fields]
            return out if any(k == "\(field)" for k, _ in fields) else out[:-4] + [("\(field)", "\(value)")] + out[-4:]
        open("t.rehost", "wb").write(w.archive)
        open("t.rehost.seal", "wb").write(seal_for(w, "t.rehost", load_identity("sealer.key").signing, tweak=tweak))
        PY
        """)
      #expect(try box.rehost("verify", "t.rehost", "--trust", "sealer.pub").status == 0, "\(field)")
      let deep = try box.rehost("verify", "t.rehost", "--trust", "sealer.pub", "--identity", "custodian.key")
      #expect(deep.status == 3 && deep.stderr.contains("disagree on \(field)"), "\(field): \(deep.output)")
    }
  }
}
