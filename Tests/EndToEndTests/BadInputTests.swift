import Foundation
import Testing

/// Bad input gets a clear refusal at once: no hang on a FIFO or /dev/zero, no minutes
/// spent on a huge file, no silent acceptance of garbage. Each command runs under
/// `timeout`, so a hang fails the test instead of stalling the suite.
@Suite(.serialized) struct BadInputTests {
  static func prepared() throws -> Sandbox {
    let box = try Sandbox()
    try box.keygen("op")
    try box.mustSh("mkdir -p src/ca && echo k > src/ca/key.pem && mkfifo fifo fifo.rehost")
    #expect(try box.rehost("snapshot", "src/ca", "--out", "ca.rehost", "--recipient", "op.pub", "--sign", "op.key").status == 0)
    return box
  }

  func bounded(_ box: Sandbox, _ arguments: String) throws -> RunResult {
    try box.sh("timeout 20 '\(rehostBinary)' \(arguments)")
  }

  @Test func devicesAndFIFOsAreRefusedNotRead() throws {
    let box = try Self.prepared()
    for (arguments, code, words) in [
      ("verify ca.rehost --seal /dev/zero --trust op.pub", 4, "is not a regular file"),
      ("verify /dev/urandom --seal ca.rehost.seal --trust op.pub", 2, "is not a regular file"),
      ("verify /dev/zero --seal ca.rehost.seal --trust op.pub --identity op.key", 2, "is not a regular file"),
      ("verify fifo --seal ca.rehost.seal --trust op.pub", 2, "is not a regular file (it is a FIFO)"),
      ("verify ca.rehost --seal fifo --trust op.pub", 4, "is not a regular file (it is a FIFO)"),
      ("restore fifo --seal ca.rehost.seal --to out --identity op.key --trust op.pub", 2, "FIFO"),
      ("inspect fifo", 2, "FIFO"),
      ("seal show ca.rehost --seal /dev/zero", 4, "not a regular file"),
      ("seal sign fifo --seal ca.rehost.seal --key op.key --role auditor", 2, "FIFO"),
      ("verify ca.rehost --policy fifo", 2, "FIFO"),
      ("verify ca.rehost --policy /dev/zero", 2, "not a regular file"),
      ("verify ca.rehost --trust fifo", 2, "FIFO"),
      ("restore ca.rehost --to out --identity fifo --trust op.pub", 2, "FIFO"),
      ("restore ca.rehost --to out --identity op.key --share fifo --trust op.pub", 2, "FIFO"),
      ("snapshot --inventory fifo --out x.rehost --recipient op.pub --sign op.key", 2, "FIFO"),
      ("check fifo.rehost --identity op.key", 2, "FIFO"),
    ] {
      let r = try bounded(box, arguments)
      #expect(r.status == Int32(code), "\(arguments): \(r.output)")
      #expect(r.stderr.contains(words), "\(arguments): \(r.stderr)")
    }
    try box.expectNothingRestored("out")
    // A passphrase may come from a pipe (`<(pass show ...)`): that is read, not refused.
    try box.mustSh("printf 'pw\\n' > pw && '\(rehostBinary)' snapshot src/ca --out p.rehost --passphrase-file pw --sign op.key --scrypt-log-n 10 >/dev/null")
    let piped = try box.sh("timeout 20 '\(rehostBinary)' verify p.rehost --trust op.pub --passphrase-file <(printf 'pw\\n')")
    #expect(piped.status == 0, "\(piped.output)")
  }

  @Test func hugeOrGarbageInputsAreRefusedWithTheirReason() throws {
    let box = try Self.prepared()
    try box.mustSh("""
      head -c 100000000 /dev/zero | tr '\\0' 'x' > huge.policy
      head -c 4096 /dev/zero > zeros/blocklist.dat 2>/dev/null || { mkdir zeros && head -c 4096 /dev/zero > zeros/blocklist.dat; }
      head -c 5000000 /dev/zero | tr '\\0' 'a' > huge.inventory.yaml
      """)
    for (arguments, code, words) in [
      ("verify ca.rehost --policy huge.policy", 2, "larger than 65536 bytes"),
      ("blocklist import zeros --out store", 2, "is not a badkeys blocklist: record 2 is not above the one before it"),
      ("snapshot --inventory huge.inventory.yaml --out x.rehost --recipient op.pub --sign op.key", 2, "larger than"),
    ] {
      let r = try bounded(box, arguments)
      #expect(r.status == Int32(code), "\(arguments): \(r.output)")
      #expect(r.stderr.contains(words), "\(arguments): \(r.stderr)")
    }
    #expect(!box.exists("store/rehost-blocklist.bin") && !box.exists("x.rehost"))
  }

  @Test func checkFailsOnADamagedArchiveInsteadOfPassingIt() throws {
    let box = try Self.prepared()
    try box.mustSh("cp ca.rehost damaged.rehost && printf 'X' | dd of=damaged.rehost bs=1 seek=0 conv=notrunc 2>/dev/null")
    let r = try bounded(box, "check damaged.rehost --identity op.key")
    #expect(r.status == 2 && r.stderr.contains("header is malformed"), "\(r.output)")
    #expect(try bounded(box, "check ca.rehost --identity op.key").status == 0)
  }

  @Test func aHeaderAskingForAnAbsurdWorkFactorIsMalformedEvenToInspect() throws {
    let box = try Self.prepared()
    try box.mustSh("""
      python3 - <<'PY'
      import sys; sys.path.insert(0, "\(packageRoot)/contrib/python")
      from rehost_format import *
      w = write_archive([Entry(b"ca", "directory", 0o755)], recipients=[load_public("op.pub").encryption],
                        extra_stanzas=[Stanza("scrypt", [b64(b"s" * 16), "62"], b"w" * 48)])
      open("greedy.rehost", "wb").write(w.archive)
      open("greedy.rehost.seal", "wb").write(seal_for(w, "greedy.rehost", load_identity("op.key").signing))
      PY
      """)
    for arguments in ["inspect greedy.rehost", "verify greedy.rehost --trust op.pub", "verify greedy.rehost --trust op.pub --identity op.key"] {
      let r = try bounded(box, arguments)
      #expect(r.status == 3 && r.stderr.contains("recipient 2 (scrypt) is malformed"), "\(arguments): \(r.output)")
    }
  }
}
