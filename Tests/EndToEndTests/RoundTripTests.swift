import Foundation
import Testing

@Suite(.serialized) struct RoundTripTests {
  @Test func sampleCARoundTripKeepsContentModesLinksAndTimes() throws {
    let box = try Sandbox()
    try box.keygen("operator", "custodian")
    try box.makeSampleCA(at: "srv/ca")
    let snap = try box.rehost("snapshot", "srv/ca", "--out", "ca.rehost", "--recipient", "custodian.pub",
                              "--sign", "operator.key", "--label", "round trip")
    #expect(snap.status == 0, "\(snap.output)")
    #expect(snap.stdout.contains("sealed ca.rehost"))

    let quick = try box.rehost("verify", "ca.rehost", "--trust", "operator.pub")
    #expect(quick.status == 0, "\(quick.output)")
    let deep = try box.rehost("verify", "ca.rehost", "--trust", "operator.pub", "--identity", "custodian.key")
    #expect(deep.status == 0, "\(deep.output)")
    #expect(deep.stdout.contains("match the manifest"))

    let restore = try box.rehost("restore", "ca.rehost", "--to", "restored", "--identity", "custodian.key", "--trust", "operator.pub")
    #expect(restore.status == 0, "\(restore.output)")
    let before = try box.listing(box.path("srv/ca")), after = try box.listing(box.path("restored/ca"))
    #expect(before == after)
    #expect(before.contains { $0.hasPrefix("./root.pem l ") && $0.contains("1614834367.1234567890") })
    #expect(before.contains { $0.contains("hardlinked.cert.pem") && $0.hasSuffix(" 2") })
    #expect(before.contains { $0.hasPrefix("./intermediate/setgid-dir d 2750 ") })
    #expect(before.contains { $0.hasPrefix("./intermediate/private/ca.key.pem f 600 ") })
  }

  @Test func xattrsExcludesAndInspect() throws {
    let box = try Sandbox()
    try box.keygen("op")
    try box.mustSh("""
      mkdir -p d/keep d/cache && echo a > d/keep/a && echo junk > d/cache/junk && echo t > d/keep/b.tmp
      python3 -c 'import os; os.setxattr("d/keep/a", "user.rehost.test", b"bag-0042")'
      """)
    let snap = try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key",
                              "--exclude", "*/cache", "--exclude", "*.tmp", "--label", "nightly 2026-11-29")
    #expect(snap.status == 0, "\(snap.output)")
    let inspect = try box.rehost("inspect", "a.rehost")
    #expect(inspect.status == 0, "\(inspect.output)")
    #expect(inspect.stdout.contains("Label: nightly 2026-11-29"))
    #expect(inspect.stdout.contains("recipient x25519 key"))
    #expect(inspect.stdout.contains("-----BEGIN REHOST SIGNATURE-----"))
    #expect(try box.rehost("restore", "a.rehost", "--to", "out", "--identity", "op.key", "--trust", "op.pub").status == 0)
    #expect(box.exists("out/d/keep/a") && !box.exists("out/d/cache") && !box.exists("out/d/keep/b.tmp"))
    try box.mustSh("""
      python3 -c 'import os, sys; sys.exit(0 if os.getxattr("out/d/keep/a", "user.rehost.test") == b"bag-0042" else 1)'
      """)
  }

  @Test func aclsRoundTripAsTheirExtendedAttributes() throws {
    let box = try Sandbox()
    try box.keygen("op")
    // POSIX ACLs (access and default), as a CA's key directory may carry them.
    try box.mustSh("""
      mkdir -p d/private && echo k > d/private/ca.key.pem
      setfacl -m u:nobody:r-- d/private/ca.key.pem && setfacl -m d:u:nobody:r-x -m u:nobody:r-x d/private
      """)
    #expect(try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key").status == 0)
    #expect(try box.rehost("restore", "a.rehost", "--to", "out", "--identity", "op.key", "--trust", "op.pub").status == 0)
    let before = try box.sh("cd d && getfacl -R -p . 2>/dev/null").stdout
    let after = try box.sh("cd out/d && getfacl -R -p . 2>/dev/null").stdout
    #expect(before.contains("user:nobody:r--") && before.contains("default:user:nobody:r-x"), "\(before)")
    #expect(before == after)
  }

  @Test func passphraseOnlyArchiveRoundTrips() throws {
    let box = try Sandbox()
    try box.keygen("operator")
    try box.mustSh("mkdir -p data/sub && echo secret > data/sub/a && printf 'pw\\n' > pass && printf 'nope\\n' > wrong")
    let snap = try box.rehost("snapshot", "data", "--out", "d.rehost", "--passphrase-file", "pass", "--sign", "operator.key",
                              "--scrypt-log-n", "12")
    #expect(snap.status == 0, "\(snap.output)")
    let wrong = try box.rehost("restore", "d.rehost", "--to", "out", "--passphrase-file", "wrong", "--trust", "operator.pub")
    #expect(wrong.status == 5, "\(wrong.output)")
    try box.expectNothingRestored("out")
    let ok = try box.rehost("restore", "d.rehost", "--to", "out", "--passphrase-file", "pass", "--trust", "operator.pub")
    #expect(ok.status == 0, "\(ok.output)")
    #expect(String(decoding: try box.read("out/data/sub/a"), as: UTF8.self) == "secret\n")
  }

  @Test func encryptedKeysNeedTheirPassphrase() throws {
    let box = try Sandbox()
    try box.mustSh("printf 'k3y pass\\n' > kp && printf 'other\\n' > bad")
    #expect(try box.rehost("keygen", "--out", "op", "--key-passphrase-file", "kp").status == 0)
    try box.mustSh("grep -q 'BEGIN ENCRYPTED PRIVATE KEY' op.key && openssl pkey -in op.key -passin file:kp -noout")
    try box.mustSh("mkdir d && echo 1 > d/f")
    let noPass = try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(noPass.status == 5, "\(noPass.output)")
    let badPass = try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key", "--key-passphrase-file", "bad")
    #expect(badPass.status == 5 && badPass.stderr.contains("wrong passphrase"), "\(badPass.output)")
    #expect(!box.exists("a.rehost"))
    let good = try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key", "--key-passphrase-file", "kp")
    #expect(good.status == 0, "\(good.output)")
  }

  @Test func corpusRoundTrip() throws {
    let box = try Sandbox()
    try box.keygen("operator", "custodian")
    try box.mustSh("bash '\(packageRoot)/bench/make-corpus.sh' --scale small --out corpus 2>/dev/null")
    let snap = try box.rehost("snapshot", "corpus", "--out", "c.rehost", "--recipient", "custodian.pub", "--sign", "operator.key")
    #expect(snap.status == 0, "\(snap.output)")
    let restore = try box.rehost("restore", "c.rehost", "--to", "out", "--identity", "custodian.key", "--trust", "operator.pub")
    #expect(restore.status == 0, "\(restore.output)")
    let before = try box.listing(box.path("corpus")), after = try box.listing(box.path("out/corpus"))
    #expect(before.count > 2500)
    #expect(before == after)
  }

  @Test func interruptedRestoreLeavesNothing() throws {
    let box = try Sandbox()
    try box.keygen("op")
    // 3 GB of zeros: small to store, seconds to write back out.
    try box.mustSh("mkdir d && truncate -s 3G d/zeros && echo x > d/small")
    #expect(try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key").status == 0)
    try box.mustSh("rm d/zeros")
    let r = try box.sh("""
      '\(rehostBinary)' restore a.rehost --to out --identity op.key --trust op.pub & pid=$!
      sleep 1; kill -TERM $pid; wait $pid
      """)
    #expect(r.status == 143, "\(r.output)")
    try box.expectNothingRestored("out")
  }

  @Test func restoreRefusesANonEmptyTargetUnlessForced() throws {
    let box = try Sandbox()
    try box.keygen("op")
    try box.mustSh("mkdir -p d target && echo new > d/f && echo old > target/keep")
    #expect(try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key").status == 0)
    let refused = try box.rehost("restore", "a.rehost", "--to", "target", "--identity", "op.key", "--trust", "op.pub")
    #expect(refused.status == 6, "\(refused.output)")
    #expect(box.exists("target/keep") && !box.exists("target/d"))
    let forced = try box.rehost("restore", "a.rehost", "--to", "target", "--identity", "op.key", "--trust", "op.pub", "--force")
    #expect(forced.status == 0, "\(forced.output)")
    // Only the archive's source (d/) goes in; what else the target held stays.
    #expect(box.exists("target/keep"))
    #expect(String(decoding: try box.read("target/d/f"), as: UTF8.self) == "new\n")
    #expect(try FileManager.default.contentsOfDirectory(atPath: box.dir).filter { $0.contains("staging") }.isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: box.path("target")).sorted() == ["d", "keep"])
    // An existing empty directory is simply filled.
    try box.mustSh("mkdir empty")
    #expect(try box.rehost("restore", "a.rehost", "--to", "empty", "--identity", "op.key", "--trust", "op.pub").status == 0)
    #expect(box.exists("empty/d/f"))
  }

  @Test func snapshotNeverOverwritesAndKilledRunLeavesNoArchive() throws {
    let box = try Sandbox()
    try box.keygen("op")
    // A sparse 40 GB file takes far longer than a second to hash: the run is killed mid-stream.
    try box.mustSh("mkdir d && truncate -s 40G d/huge && echo x > d/small")
    try box.mustSh("""
      '\(rehostBinary)' snapshot d --out a.rehost --recipient op.pub --sign op.key & pid=$!
      sleep 1.5; kill -9 $pid; wait $pid || true
      """)
    #expect(!box.exists("a.rehost") && !box.exists("a.rehost.seal"))
    // What it left is a hidden temporary file that rehost does not take for an archive.
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: box.dir).filter { $0.hasPrefix(".a.rehost.tmp-") }
    #expect(leftovers.count == 1)
    for leftover in leftovers {
      let verify = try box.rehost("verify", leftover, "--trust", "op.pub")
      #expect(verify.status == 4, "\(verify.output)")  // no seal: never accepted
    }
    // Interrupted (Ctrl-C, or cron's timeout sending SIGTERM): the temporary file goes too.
    try box.mustSh("rm .a.rehost.tmp-*")
    for signal in ["INT", "TERM"] {
      let r = try box.sh("""
        '\(rehostBinary)' snapshot d --out a.rehost --recipient op.pub --sign op.key & pid=$!
        sleep 1.5; kill -\(signal) $pid; wait $pid
        """)
      #expect(r.status == (signal == "INT" ? 130 : 143), "\(r.output)")
      #expect(r.stderr.contains("interrupted"), "\(r.output)")
      #expect(try FileManager.default.contentsOfDirectory(atPath: box.dir).filter { $0.hasPrefix(".a.rehost") }.isEmpty)
      #expect(!box.exists("a.rehost"))
    }
    try box.mustSh("rm d/huge")
    #expect(try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key").status == 0)
    let again = try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(again.status == 6, "\(again.output)")
  }
}
