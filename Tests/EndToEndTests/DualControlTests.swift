import Foundation
import Testing

/// Witnessed seals: countersignatures, trust policies, bag serials.
@Suite(.serialized) struct WitnessTests {
  static let policy = """
    # who may sign, as what
    trust operator.pub as sealer, operator
    trust auditor.pub as auditor
    trust isp.pub as isp-witness person isp-nl
    # what a seal needs
    require sealer
    require auditor
    require 2 people
    """

  static func prepared() throws -> Sandbox {
    let box = try Sandbox()
    try box.keygen("operator", "auditor", "isp", "stranger", "custodian")
    try box.mustSh("mkdir -p srv/ca && echo key > srv/ca/ca.key && chmod 600 srv/ca/ca.key")
    try box.write("policy.txt", Array(policy.utf8))
    let snap = try box.rehost("snapshot", "srv/ca", "--out", "ca.rehost", "--recipient", "custodian.pub", "--sign", "operator.key")
    #expect(snap.status == 0, "\(snap.output)")
    return box
  }

  @Test func aMissingRoleFailsWithThePolicyCodeAndCountersigningMeetsIt() throws {
    let box = try Self.prepared()
    let alone = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt")
    #expect(alone.status == 7, "\(alone.output)")
    #expect(alone.stderr.contains("auditor: 0 of 1"), "\(alone.stderr)")
    let restore = try box.rehost("restore", "ca.rehost", "--to", "out", "--identity", "custodian.key", "--policy", "policy.txt")
    #expect(restore.status == 7, "\(restore.output)")
    try box.expectNothingRestored("out")

    // A key outside the policy signing as auditor does not count.
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "stranger.key", "--role", "auditor").status == 0)
    let stranger = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt")
    #expect(stranger.status == 7, "\(stranger.output)")
    #expect(stranger.stdout.isEmpty || !stranger.stdout.contains("OK"))

    let sign = try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor",
                              "--bag", "BAG-0001", "--bag", "DISK-SEAL-77", "--note", "sealed in the Vienna server room")
    #expect(sign.status == 0, "\(sign.output)")
    let met = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt")
    #expect(met.status == 0, "\(met.output)")
    #expect(met.stdout.contains("signature 1: sealer"))
    #expect(met.stdout.contains("signature 2: auditor") && met.stdout.contains("not counted: key not trusted"))
    #expect(met.stdout.contains("signature 3: auditor") && met.stdout.contains("valid, counted (auditor.pub)"))
    #expect(met.stdout.contains("bag serial: BAG-0001"))
    #expect(met.stdout.contains("policy.txt met"))
    let restored = try box.rehost("restore", "ca.rehost", "--to", "out", "--identity", "custodian.key", "--policy", "policy.txt")
    #expect(restored.status == 0, "\(restored.output)")

    // The statement itself is untouched by countersigning.
    try box.mustSh("sed -n '1,/END REHOST SEAL STATEMENT/p' ca.rehost.seal | grep -q '^Sealer: '")
  }

  @Test func bagSerialsMustMatchOnArrival() throws {
    let box = try Self.prepared()
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor", "--bag", "BAG-0001").status == 0)
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "isp.key", "--role", "isp-witness", "--bag", "DISK-77").status == 0)
    let same = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt", "--expect-bag", "DISK-77", "--expect-bag", "BAG-0001")
    #expect(same.status == 0, "\(same.output)")
    let other = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt", "--expect-bag", "BAG-0002", "--expect-bag", "DISK-77")
    #expect(other.status == 7 && other.stderr.contains("bag serials differ"), "\(other.output)")
    let missing = try box.rehost("restore", "ca.rehost", "--to", "out", "--identity", "custodian.key", "--policy", "policy.txt",
                                 "--expect-bag", "BAG-0001")
    #expect(missing.status == 7, "\(missing.output)")
    try box.expectNothingRestored("out")
  }

  @Test func anAlteredCountersignatureIsNamed() throws {
    let box = try Self.prepared()
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor", "--bag", "BAG-0001").status == 0)
    try box.mustSh("cp ca.rehost.seal good.seal && sed -i 's/^Bag: BAG-0001$/Bag: BAG-0009/' ca.rehost.seal && ! cmp -s good.seal ca.rehost.seal")
    let altered = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt")
    #expect(altered.status == 4, "\(altered.output)")
    #expect(altered.stderr.contains("signature 2 (auditor"), "\(altered.stderr)")
    // A signature block copied from another archive's seal names another statement.
    try box.mustSh("cp good.seal ca.rehost.seal")
    #expect(try box.rehost("snapshot", "srv/ca", "--out", "b.rehost", "--recipient", "custodian.pub", "--sign", "operator.key").status == 0)
    #expect(try box.rehost("seal", "sign", "b.rehost", "--key", "isp.key", "--role", "isp-witness").status == 0)
    try box.mustSh("sed -n '/^-----BEGIN REHOST SIGNATURE-----$/,/^-----END REHOST SIGNATURE-----$/p' b.rehost.seal | tail -n 8 >> ca.rehost.seal")
    let grafted = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt")
    #expect(grafted.status == 4 && grafted.stderr.contains("signature 3 (isp-witness") && grafted.stderr.contains("different statement"), "\(grafted.output)")
  }

  @Test func witnessesOnlySignWhatMatchesAndShowPrintsForPaper() throws {
    let box = try Self.prepared()
    try box.mustSh("cp ca.rehost good.rehost && " + flipByteCommand("ca.rehost", at: 500))
    let refused = try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor")
    #expect(refused.status == 3, "\(refused.output)")
    try box.mustSh("cp good.rehost ca.rehost")
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor").status == 0)
    let twice = try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor")
    #expect(twice.status == 6, "\(twice.output)")
    let show = try box.rehost("seal", "show", "ca.rehost")
    #expect(show.status == 0, "\(show.output)")
    let digest = try box.sh("sha256sum ca.rehost | cut -c1-8").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(show.stdout.contains("archive SHA-256:   \(digest.prefix(4)) \(digest.dropFirst(4))"), "\(show.stdout)")
    #expect(show.stdout.contains("signature 2 (auditor) key:"))
    let bad = try box.rehost("seal", "sign", "ca.rehost", "--key", "isp.key", "--role", "Not A Role")
    #expect(bad.status == 2, "\(bad.output)")
  }

  @Test func malformedPoliciesAreUsageErrors() throws {
    let box = try Self.prepared()
    for text in ["trust operator.pub\n", "require\n", "frobnicate\n", "trust missing.pub as auditor\n", "# nothing\n"] {
      try box.write("bad.txt", Array(text.utf8))
      let r = try box.rehost("verify", "ca.rehost", "--policy", "bad.txt")
      #expect(r.status == 2, "\(text): \(r.output)")
    }
  }
}

/// k-of-n custodians: any k open, fewer do not, a wrong share is named.
@Suite(.serialized) struct CustodianTests {
  static func prepared() throws -> Sandbox {
    let box = try Sandbox()
    try box.keygen("operator", "alice", "bob", "carol", "dave")
    try box.makeSampleCA(at: "srv/ca")
    let snap = try box.rehost("snapshot", "srv/ca", "--out", "ca.rehost", "--custodians", "2-of-3",
                              "--custodian", "alice.pub", "--custodian", "bob.pub", "--custodian", "carol.pub", "--sign", "operator.key")
    #expect(snap.status == 0, "\(snap.output)")
    return box
  }

  @Test func anyTwoOfThreeRestoreAndOneDoesNot() throws {
    let box = try Self.prepared()
    let seal = String(decoding: try box.read("ca.rehost.seal"), as: UTF8.self)
    #expect(seal.components(separatedBy: "Recipient: share 2-of-3 x25519 ").count == 4)
    let inspect = try box.rehost("inspect", "ca.rehost")
    #expect(inspect.stdout.contains("custodian share 3 of a 2-of-3 split"), "\(inspect.stdout)")
    for (i, pair) in [["alice", "bob"], ["alice", "carol"], ["bob", "carol"], ["carol", "alice", "bob"]].enumerated() {
      let out = "out\(i)"
      let r = try box.rehost(["restore", "ca.rehost", "--to", out, "--trust", "operator.pub"] + pair.flatMap { ["--identity", "\($0).key"] })
      #expect(r.status == 0, "\(pair): \(r.output)")
      #expect(try box.listing(box.path("srv/ca")) == box.listing(box.path("\(out)/ca")))
    }
    let one = try box.rehost("restore", "ca.rehost", "--to", "x", "--identity", "bob.key", "--trust", "operator.pub")
    #expect(one.status == 5, "\(one.output)")
    #expect(one.stderr.contains("needs 2 of 3 custodians' shares; 1 present"), "\(one.stderr)")
    try box.expectNothingRestored("x")
    let outsider = try box.rehost("restore", "ca.rehost", "--to", "x", "--identity", "dave.key", "--trust", "operator.pub")
    #expect(outsider.status == 5, "\(outsider.output)")
    try box.expectNothingRestored("x")
    let deep = try box.rehost("verify", "ca.rehost", "--trust", "operator.pub", "--identity", "alice.key", "--identity", "carol.key")
    #expect(deep.status == 0, "\(deep.output)")
  }

  @Test func custodiansAwayFromTheMachineSendShareFiles() throws {
    let box = try Self.prepared()
    for name in ["alice", "carol"] {
      let r = try box.rehost("share", "export", "ca.rehost", "--identity", "\(name).key", "--to", "operator.pub", "--out", "\(name).share")
      #expect(r.status == 0, "\(r.output)")
    }
    try box.mustSh("test \"$(stat -c %a alice.share)\" = 600 && head -1 alice.share | grep -qx 'rehost-share/1'")
    let restore = try box.rehost("restore", "ca.rehost", "--to", "out", "--identity", "operator.key", "--trust", "operator.pub",
                                 "--share", "alice.share", "--share", "carol.share")
    #expect(restore.status == 0, "\(restore.output)")
    // One share file plus one custodian at the machine also works.
    let mixed = try box.rehost("restore", "ca.rehost", "--to", "out2", "--identity", "operator.key", "--identity", "bob.key",
                               "--trust", "operator.pub", "--share", "alice.share")
    #expect(mixed.status == 0, "\(mixed.output)")
    let short = try box.rehost("restore", "ca.rehost", "--to", "x", "--identity", "operator.key", "--trust", "operator.pub", "--share", "alice.share")
    #expect(short.status == 5 && short.stderr.contains("1 present"), "\(short.output)")
    try box.expectNothingRestored("x")

    // A tampered share file is named and refused before use.
    try box.mustSh("c=$(sed -n 5p carol.share | cut -c1); if [ \"$c\" = A ]; then n=B; else n=A; fi; sed \"5s/^./$n/\" carol.share > bad.share; ! cmp -s carol.share bad.share")
    let tampered = try box.rehost("restore", "ca.rehost", "--to", "x", "--identity", "operator.key", "--trust", "operator.pub",
                                  "--share", "alice.share", "--share", "bad.share")
    #expect(tampered.status == 5 && tampered.stderr.contains("share file bad.share"), "\(tampered.output)")
    try box.expectNothingRestored("x")
    // A share of another archive (same custodians) is refused by name.
    #expect(try box.rehost("snapshot", "srv/ca", "--out", "b.rehost", "--custodians", "2-of-3", "--custodian", "alice.pub",
                           "--custodian", "bob.pub", "--custodian", "carol.pub", "--sign", "operator.key").status == 0)
    #expect(try box.rehost("share", "export", "b.rehost", "--identity", "carol.key", "--to", "operator.pub", "--out", "other.share").status == 0)
    let foreign = try box.rehost("restore", "ca.rehost", "--to", "x", "--identity", "operator.key", "--trust", "operator.pub",
                                 "--share", "alice.share", "--share", "other.share")
    #expect(foreign.status == 5 && foreign.stderr.contains("share file other.share is for another archive"), "\(foreign.output)")
    try box.expectNothingRestored("x")
    // A share exported to someone else cannot be used by the operator.
    #expect(try box.rehost("share", "export", "ca.rehost", "--identity", "bob.key", "--to", "dave.pub", "--out", "dave.share").status == 0)
    let misdirected = try box.rehost("restore", "ca.rehost", "--to", "x", "--identity", "operator.key", "--trust", "operator.pub",
                                     "--share", "alice.share", "--share", "dave.share")
    #expect(misdirected.status == 5 && misdirected.stderr.contains("not to any --identity given"), "\(misdirected.output)")
  }

  @Test func custodiansCannotBeMixedWithSoloRecipients() throws {
    let box = try Sandbox()
    try box.keygen("operator", "alice", "bob")
    try box.mustSh("mkdir d && echo 1 > d/f")
    let mixed = try box.rehost("snapshot", "d", "--out", "a.rehost", "--custodians", "2-of-2", "--custodian", "alice.pub",
                               "--custodian", "bob.pub", "--recipient", "operator.pub", "--sign", "operator.key")
    #expect(mixed.status == 2 && mixed.stderr.contains("defeating dual control"), "\(mixed.output)")
    let count = try box.rehost("snapshot", "d", "--out", "a.rehost", "--custodians", "2-of-3", "--custodian", "alice.pub",
                               "--custodian", "bob.pub", "--sign", "operator.key")
    #expect(count.status == 2, "\(count.output)")
    #expect(!box.exists("a.rehost"))
  }
}

/// Evidence checkable with tools we did not write: sha256sum -c and bagit-python.
@Suite struct EvidenceTests {
  @Test func restoredTreePassesSha256sumAndBagitAndOneFlippedByteFailsBoth() throws {
    let box = try Sandbox()
    try box.keygen("operator", "custodian")
    try box.mustSh("""
      set -e
      '\(packageRoot)/scripts/make-sample-ca.sh' srv/ca >/dev/null
      cd srv/ca && ln -s certs/ca.cert.pem root.pem && ln intermediate/certs/ca.cert.pem intermediate/hard.pem
      ln -s intermediate/certs certs-link && printf 'odd name\\n' > 'with space %25.txt'
      """)
    #expect(try box.rehost("snapshot", "srv/ca", "--out", "ca.rehost", "--recipient", "custodian.pub", "--sign", "operator.key").status == 0)

    // sha256sum -c against a plain restore.
    #expect(try box.rehost("restore", "ca.rehost", "--to", "plain", "--identity", "custodian.key", "--trust", "operator.pub").status == 0)
    let export = try box.rehost("manifest", "export", "ca.rehost", "--identity", "custodian.key", "--format", "sha256sum", "--out", "ca.sha256")
    #expect(export.status == 0, "\(export.output)")
    let sums = String(decoding: try box.read("ca.sha256"), as: UTF8.self)
    #expect(sums.contains("  ca/root.pem\n") && sums.contains("  ca/intermediate/hard.pem\n"), "\(sums)")
    #expect(!sums.contains("certs-link"))
    try box.mustSh("cd plain && sha256sum --quiet -c ../ca.sha256")
    let stdout = try box.rehost("manifest", "export", "ca.rehost", "--identity", "custodian.key", "--format", "sha256sum")
    #expect(stdout.stdout == sums)

    // restore --bagit makes a bag that bagit-python validates.
    let bag = try box.rehost("restore", "ca.rehost", "--to", "bag", "--identity", "custodian.key", "--trust", "operator.pub", "--bagit")
    #expect(bag.status == 0, "\(bag.output)")
    try box.mustSh("test -f bag/data/ca/index.txt && grep -q '^Rehost-Archive-SHA256: ' bag/bag-info.txt")
    try box.mustSh("python3 -m bagit --validate bag 2>&1")
    // The exported tag files describe a bag around the plain restore too.
    #expect(try box.rehost("manifest", "export", "ca.rehost", "--identity", "custodian.key", "--format", "bagit", "--out", "bag2").status == 0)
    try box.mustSh("mv plain bag2/data && python3 -m bagit --validate bag2 2>&1 && cmp bag/manifest-sha256.txt bag2/manifest-sha256.txt")

    // One flipped byte in the restored tree: both tools fail.
    try box.mustSh("printf 'X' | dd of=bag2/data/ca/intermediate/index.txt bs=1 seek=3 conv=notrunc 2>/dev/null")
    #expect(try box.sh("cd bag2/data && sha256sum --quiet -c ../../ca.sha256").status != 0)
    #expect(try box.sh("python3 -m bagit --validate bag2").status != 0)
    try box.mustSh("printf 'X' | dd of=bag/data/ca/serial bs=1 seek=0 conv=notrunc 2>/dev/null")
    #expect(try box.sh("python3 -m bagit --validate bag").status != 0)
  }
}

/// Custodians type their passphrases in turn at the restoring terminal.
@Suite struct TerminalPromptTests {
  @Test func eachCustodianIsAskedForTheirPassphraseInTurn() throws {
    let box = try Sandbox()
    try box.mustSh("printf 'alice pass\\n' > a.pw && printf 'bob pass\\n' > b.pw")
    for (name, pw) in [("alice", "a.pw"), ("bob", "b.pw")] {
      #expect(try box.rehost("keygen", "--out", name, "--key-passphrase-file", pw).status == 0)
    }
    try box.keygen("operator")
    try box.mustSh("mkdir d && echo secret > d/f")
    #expect(try box.rehost("snapshot", "d", "--out", "a.rehost", "--custodians", "2-of-2", "--custodian", "alice.pub",
                           "--custodian", "bob.pub", "--sign", "operator.key").status == 0)
    let script = packageRoot + "/Tests/EndToEndTests/Scripts/answer-prompts.py"
    let answers = #"[["Passphrase for alice.key", "alice pass"], ["Passphrase for bob.key", "bob pass"]]"#
    let r = try run("/usr/bin/env", ["python3", script, answers, "--", rehostBinary, "restore", "a.rehost", "--to", "out",
                                     "--identity", "alice.key", "--identity", "bob.key", "--trust", "operator.pub"], cwd: box.dir)
    #expect(r.status == 0, "\(r.output)")
    #expect(r.stdout.components(separatedBy: "[answered]").count == 3, "\(r.stdout)")
    #expect(!r.stdout.contains("alice pass"))  // not echoed
    #expect(String(decoding: try box.read("out/d/f"), as: UTF8.self) == "secret\n")
    let wrong = try run("/usr/bin/env", ["python3", script, #"[["Passphrase for alice.key", "nope"]]"#, "--", rehostBinary,
                                         "restore", "a.rehost", "--to", "out2", "--identity", "alice.key", "--identity", "bob.key",
                                         "--trust", "operator.pub"], cwd: box.dir)
    #expect(wrong.status == 5 && wrong.stdout.contains("wrong passphrase"), "\(wrong.output)")
    try box.expectNothingRestored("out2")
  }

  @Test func progressShowsOnATerminalOnly() throws {
    let box = try Sandbox()
    try box.keygen("op")
    try box.mustSh("mkdir d && truncate -s 1G d/zeros")
    let script = packageRoot + "/Tests/EndToEndTests/Scripts/answer-prompts.py"
    let tty = try run("/usr/bin/env", ["python3", script, "[]", "--", rehostBinary, "snapshot", "d", "--out", "t.rehost",
                                       "--recipient", "op.pub", "--sign", "op.key"], cwd: box.dir)
    #expect(tty.status == 0, "\(tty.output)")
    #expect(tty.stdout.contains("snapshot: ") && tty.stdout.contains("MiB/s"), "\(tty.stdout)")
    let piped = try box.rehost("snapshot", "d", "--out", "p.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(piped.status == 0 && !piped.stderr.contains("snapshot: "), "\(piped.output)")
  }
}
