import Foundation
import Testing

/// The mistakes a tired operator makes, each with the message that says what happened and
/// the documented exit code; and the README's exit-code table, every row observed.
@Suite("Mistakes and exit codes")
struct MistakeTests {
  /// A sandbox with keys op (operator), auditor and stranger, and a sealed archive a.rehost.
  func prepared() throws -> Sandbox {
    let box = try Sandbox()
    try box.keygen("op", "auditor", "stranger")
    try box.mustSh("mkdir -p d && echo data > d/f && echo other > d/g")
    let snap = try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 0, "\(snap.output)")
    return box
  }

  func expect(_ r: RunResult, _ status: Int32, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == status, "exit \(r.status), expected \(status): \(r.output)", sourceLocation: sourceLocation)
    #expect(r.stderr.contains(text), "expected '\(text)' in: \(r.stderr)", sourceLocation: sourceLocation)
  }

  @Test("a misspelt option, a stray argument or an option the command lacks is named, with 'did you mean'")
  func argumentMistakes() throws {
    let box = try prepared()
    // Not masked by what the command needs (--identity, --trust are missing too).
    expect(try box.rehost("restore", "a.rehost", "--indentity", "op.key", "--to", "x"), 2, "Unknown option '--indentity'. Did you mean '--identity'?")
    expect(try box.rehost("verify", "a.rehost", "-trust", "op.pub"), 2, "Unknown option '-trust'. Did you mean '--trust'?")
    expect(try box.rehost("verify", "a.rehost", "--trust", "op.pub", "stray"), 2, "Unexpected argument 'stray'")
    expect(try box.rehost("keygen", "--out", "k", "--json"), 2, "Unknown option '--json'")
    // With the syntax right, what is missing is said.
    expect(try box.rehost("restore", "a.rehost", "--to", "x"), 2, "name --trust NAME.pub or --policy FILE")
  }

  @Test("wrong files: a missing archive, a seal given as the archive, a .pub as a private key, another archive's seal, CR LF endings")
  func wrongFiles() throws {
    let box = try prepared()
    expect(try box.rehost("verify", "missing.rehost", "--trust", "op.pub"), 2, "there is no archive at missing.rehost")
    expect(try box.rehost("inspect", "a.rehost.seal"), 2, "a.rehost.seal is a seal; give the archive it seals")
    expect(try box.rehost("verify", "a.rehost.seal", "--trust", "op.pub"), 2, "a.rehost.seal is a seal")
    expect(try box.rehost("restore", "a.rehost", "--identity", "op.pub", "--trust", "op.pub", "--to", "x"), 5, "op.pub is a public key; this needs the private key")
    try box.mustSh("mkdir e && echo else > e/f")
    #expect(try box.rehost("snapshot", "e", "--out", "b.rehost", "--recipient", "op.pub", "--sign", "op.key").status == 0)
    expect(try box.rehost("verify", "a.rehost", "--seal", "b.rehost.seal", "--trust", "op.pub"), 4, "this seal is for another archive (b.rehost")
    // The same archive renamed keeps its seal.
    try box.mustSh("cp a.rehost renamed.rehost")
    #expect(try box.rehost("verify", "renamed.rehost", "--seal", "a.rehost.seal", "--trust", "op.pub").status == 0)
    // The same name, other bytes: tampering, not a mix-up.
    try box.mustSh("cp b.rehost a.rehost")
    expect(try box.rehost("verify", "a.rehost", "--trust", "op.pub"), 3, "the archive does not match its seal")
    try box.mustSh("sed 's/$/\\r/' b.rehost.seal > crlf.seal")
    expect(try box.rehost("verify", "b.rehost", "--seal", "crlf.seal", "--trust", "op.pub"), 4, "its lines end with CR LF")
  }

  @Test("an encrypted key without a terminal names the key and the option that gives its passphrase")
  func encryptedKeyWithoutTerminal() throws {
    let box = try prepared()
    try box.mustSh("printf 'correct horse\\n' > pass && '\(rehostBinary)' keygen --out locked --key-passphrase-file pass >/dev/null")
    let r = try box.sh("'\(rehostBinary)' snapshot d --out c.rehost --recipient op.pub --sign locked.key < /dev/null")
    #expect(r.status == 5, "\(r.output)")
    #expect(r.stderr.contains("locked.key is protected by a passphrase, and no terminal is there to ask for it"), "\(r.stderr)")
    #expect(r.stderr.contains("--key-passphrase-file"), "\(r.stderr)")
  }

  @Test("passphrases from a file, a descriptor or the environment: one option name, one meaning")
  func passphraseSources() throws {
    let box = try prepared()
    let r = try box.sh("""
      set -e
      R='\(rehostBinary)'
      "$R" keygen --out locked --key-passphrase-fd 3 3< <(printf 'key words\\n') >/dev/null
      REHOST_KEY_PASSPHRASE='key words' "$R" snapshot d --out p.rehost --sign locked.key --passphrase-fd 4 4< <(printf 'archive words\\n') --scrypt-log-n 10 --quiet
      REHOST_PASSPHRASE='archive words' "$R" restore p.rehost --trust locked.pub --to out >/dev/null
      "$R" verify p.rehost --trust locked.pub --passphrase-file <(printf 'archive words\\n') >/dev/null
      diff -r d out/d
      """)
    #expect(r.status == 0, "\(r.output)")
    // A variable left in the environment never adds a way to open a new archive.
    let env = try box.sh("REHOST_PASSPHRASE=x '\(rehostBinary)' snapshot d --out q.rehost --recipient op.pub --sign op.key --quiet && '\(rehostBinary)' inspect q.rehost")
    #expect(env.status == 0 && !env.stdout.contains("scrypt"), "\(env.output)")
    expect(try box.rehost("verify", "a.rehost", "--trust", "op.pub", "--passphrase-fd", "250"), 2, "--passphrase-fd 250: no such open file descriptor")
    let wrong = try box.sh("REHOST_KEY_PASSPHRASE=nope '\(rehostBinary)' snapshot d --out w.rehost --recipient op.pub --sign locked.key")
    #expect(wrong.status == 5 && wrong.stderr.contains("wrong passphrase"), "\(wrong.output)")
  }

  @Test("manifest export does not overwrite; --trust needs the sealer, not only a countersigner")
  func overwritesAndTrust() throws {
    let box = try prepared()
    try box.mustSh("echo precious > sums")
    expect(try box.rehost("manifest", "export", "a.rehost", "--identity", "op.key", "--format", "sha256sum", "--out", "sums"), 6, "sums already exists")
    #expect(String(decoding: try box.read("sums"), as: UTF8.self) == "precious\n")
    // Sealed by a stranger, countersigned by the auditor: trusting the auditor is not enough.
    try box.mustSh("mkdir s && echo x > s/f")
    #expect(try box.rehost("snapshot", "s", "--out", "s.rehost", "--recipient", "op.pub", "--sign", "stranger.key").status == 0)
    #expect(try box.rehost("seal", "sign", "s.rehost", "--key", "auditor.key", "--role", "auditor").status == 0)
    let r = try box.rehost("verify", "s.rehost", "--trust", "auditor.pub")
    expect(r, 4, "the sealer of this seal (key")
    #expect(r.stderr.contains("is not among the --trust keys; only a countersignature is (auditor"), "\(r.stderr)")
    #expect(try box.rehost("verify", "s.rehost", "--trust", "auditor.pub", "--trust", "stranger.pub").status == 0)
  }

  /// Runs one scenario per row of the README's exit-code table and checks that the
  /// codes observed are exactly the table's.
  @Test("the README's exit-code table is what the commands exit with")
  func exitCodeTable() throws {
    let readme = String(decoding: try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/README.md")), as: UTF8.self)
    let section = readme.components(separatedBy: "## Exit codes")[1].components(separatedBy: "\n## ")[0]
    let rows = section.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| code") && !$0.hasPrefix("| ---") }.map { $0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces) }
    #expect(rows == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "128+N"], "\(rows)")

    let box = try prepared()
    let restore = ["restore", "a.rehost", "--identity", "op.key", "--trust", "op.pub", "--to"]
    var observed: [String: Int32] = [:]
    observed["0"] = try box.rehost("verify", "a.rehost", "--trust", "op.pub").status
    try box.mustSh("mkdir frozen && chattr +i frozen")
    defer { _ = try? box.sh("chattr -i frozen") }
    observed["1"] = try box.rehost("snapshot", "d", "--out", "frozen/x.rehost", "--recipient", "op.pub", "--sign", "op.key").status
    observed["2"] = try box.rehost("verify", "a.rehost", "--trsut", "op.pub").status
    try box.mustSh("cp a.rehost t.rehost && cp a.rehost.seal t.rehost.seal && " + flipByteCommand("t.rehost", at: 300))
    observed["3"] = try box.rehost("verify", "t.rehost", "--trust", "op.pub").status
    observed["4"] = try box.rehost("verify", "a.rehost", "--trust", "stranger.pub").status
    observed["5"] = try box.rehost(["restore", "a.rehost", "--identity", "stranger.key", "--trust", "op.pub", "--to", "out5"]).status
    try box.mustSh("mkdir full6 && echo x > full6/x")
    observed["6"] = try box.rehost(restore + ["full6"]).status
    observed["7"] = try box.rehost("verify", "a.rehost", "--trust", "op.pub", "--expect-bag", "SERIAL-1").status
    let busy = try box.sh("flock -n .out8.rehost-lock sleep 5 & sleep 0.5; '\(rehostBinary)' \(restore.joined(separator: " ")) out8; echo \"status $?\"; kill %1")
    observed["8"] = Int32(busy.stdout.components(separatedBy: "status ").last!.trimmingCharacters(in: .whitespacesAndNewlines))
    // An offsite remote rclone cannot write to: the backup is made, the copy fails.
    try box.keygen("host", "custodian")
    try box.mustSh("mkdir -p srv/ca metrics && echo ca > srv/ca/index.txt && printf '[nowhere]\\ntype = local\\n' > rclone.conf")
    try box.write("backup.yaml", Array((BackupTests.config + "offsite:\n  rclone-config: rclone.conf\n  remotes: [\"nowhere:/proc/rehost-nowhere\"]\n").utf8))
    #expect(try box.rehost("backup", "init", "--config", "backup.yaml").status == 0)
    observed["9"] = try box.rehost("backup", "run", "--config", "backup.yaml").status
    let interrupted = try box.sh("""
      truncate -s 40G d/huge
      '\(rehostBinary)' snapshot d --out big.rehost --recipient op.pub --sign op.key & pid=$!
      sleep 1; kill -TERM $pid; wait $pid; echo "status $?"
      """)
    observed["128+N"] = Int32(interrupted.stdout.components(separatedBy: "status ").last!.trimmingCharacters(in: .whitespacesAndNewlines))
    let expected: [String: Int32] = ["0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9, "128+N": 143]
    #expect(observed == expected, "observed \(observed.sorted { $0.key < $1.key })")
  }
}
