import Foundation
import Testing

/// What each command prints for people and for scripts: `--json` objects (docs/JSON.md)
/// parsed as a script would, `--quiet` printing nothing, progress on a terminal only.
@Suite("Output: --json, --quiet, progress")
struct OutputTests {
  /// A sandbox with identities op and auditor, a tree d (3 MB of it in one file) and
  /// a sealed archive a.rehost of it.
  func prepared() throws -> Sandbox {
    let box = try Sandbox()
    try box.keygen("op", "auditor")
    try box.mustSh("mkdir -p d/sub && echo data > d/f && head -c 3000000 /dev/urandom > d/sub/big")
    let snap = try box.rehost("snapshot", "d", "--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key", "--quiet")
    #expect(snap.status == 0 && snap.stdout.isEmpty, "\(snap.output)")
    return box
  }

  /// Parses stdout as exactly one JSON object.
  func object(_ r: RunResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let lines = r.stdout.split(separator: "\n")
    #expect(lines.count == 1, "one line of JSON expected: \(r.output)", sourceLocation: sourceLocation)
    let value = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    return try #require(value as? [String: Any], "not an object: \(r.stdout)", sourceLocation: sourceLocation)
  }

  @Test("snapshot, verify, restore, inspect, seal show and manifest export print one JSON object each")
  func jsonObjects() throws {
    let box = try prepared()
    let snap = try object(try box.rehost("snapshot", "d", "--out", "b.rehost", "--recipient", "op.pub", "--sign", "op.key", "--label", "move", "--json"))
    #expect(snap["command"] as? String == "snapshot" && snap["status"] as? String == "ok")
    #expect(snap["seal"] as? String == "b.rehost.seal")
    let statement = try #require(snap["statement"] as? [String: Any])
    let sha = try box.sh("sha256sum b.rehost | cut -c1-64").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(statement["archive_sha256"] as? String == sha)
    #expect(statement["entries"] as? Int == 4 && statement["label"] as? String == "move")
    #expect(statement["content_bytes"] as? Int == 3_000_005)

    let keyFree = try object(try box.rehost("verify", "b.rehost", "--trust", "op.pub", "--json"))
    #expect(keyFree["deep"] as? Bool == false && keyFree["content"] == nil)
    let signatures = try #require(keyFree["signatures"] as? [[String: Any]])
    #expect(signatures.count == 1 && signatures[0]["role"] as? String == "sealer" && signatures[0]["counted"] as? Bool == true)
    #expect(signatures[0]["trusted_key"] as? String == "op.pub")
    #expect((keyFree["trust"] as? [String: Any])?["met"] as? Bool == true)

    let deep = try object(try box.rehost("verify", "b.rehost", "--trust", "op.pub", "--identity", "op.key", "--json"))
    let totals = try #require((deep["content"] as? [String: Any])?["totals"] as? [String: Any])
    #expect(deep["deep"] as? Bool == true && totals["files"] as? Int == 2 && totals["bytes"] as? Int == 3_000_005)

    let restored = try object(try box.rehost("restore", "b.rehost", "--trust", "op.pub", "--identity", "op.key", "--to", "out", "--json"))
    #expect(restored["command"] as? String == "restore" && (restored["target"] as? String)?.hasSuffix("/out") == true)
    #expect(((restored["content"] as? [String: Any])?["totals"] as? [String: Any])?["entries"] as? Int == 4)
    try box.mustSh("diff -r d out/d")

    let inspected = try object(try box.rehost("inspect", "b.rehost", "--json"))
    #expect(inspected["file_size"] as? Int == statement["archive_size"] as? Int)
    let recipients = try #require(inspected["recipients"] as? [[String: Any]])
    #expect(recipients.count == 1 && recipients[0]["type"] as? String == "x25519")
    #expect(((inspected["seal"] as? [String: Any])?["statement"] as? [String: Any])?["archive_sha256"] as? String == sha)

    let countersigned = try box.rehost("seal", "sign", "b.rehost", "--key", "auditor.key", "--role", "auditor", "--bag", "B-17", "--quiet")
    #expect(countersigned.status == 0 && countersigned.stdout.isEmpty, "\(countersigned.output)")
    let shown = try object(try box.rehost("seal", "show", "b.rehost", "--json"))
    let seal = try #require(shown["seal"] as? [String: Any])
    let blocks = try #require(seal["signatures"] as? [[String: Any]])
    #expect(blocks.map { $0["role"] as? String } == ["sealer", "auditor"] && blocks[1]["bags"] as? [String] == ["B-17"])
    #expect((seal["statement_sha256"] as? String)?.count == 64)

    let exported = try object(try box.rehost("manifest", "export", "b.rehost", "--identity", "op.key", "--format", "sha256sum", "--out", "list", "--json"))
    #expect(exported["format"] as? String == "sha256sum" && exported["out"] as? String == "list")
    try box.mustSh("cd out && sha256sum -c --quiet ../list")
  }

  @Test("check --json gives its findings; a failed run prints a failure object with the exit code")
  func jsonCheckAndFailures() throws {
    let box = try prepared()
    let check = try box.rehost("check", packageRoot + "/testdata/debian-weak-sample/strong", "--no-standard-blocklists", "--json")
    #expect(check.status == 0, "\(check.output)")
    let report = try object(check)
    #expect(report["command"] as? String == "check" && report["keys"] as? Int == 4 && report["failed"] as? Bool == false)
    #expect((report["findings"] as? [[String: Any]])?.contains { ($0["problem"] as? String)?.contains("did not run") == true } == true)

    // No seal: exit 4, the same error as text on stderr and as an object on stdout.
    try box.mustSh("cp a.rehost lone.rehost")
    let noSeal = try box.rehost("verify", "lone.rehost", "--trust", "op.pub", "--json")
    #expect(noSeal.status == 4, "\(noSeal.output)")
    let failure = try object(noSeal)
    #expect(failure["status"] as? String == "failed" && failure["exit"] as? Int == 4 && failure["kind"] as? String == "seal")
    #expect(noSeal.stderr.contains(try #require(failure["error"] as? String)))
    // A command line that does not parse still answers in JSON.
    let usage = try box.rehost("verify", "a.rehost", "--trust", "op.pub", "--indentity", "op.key", "--json")
    #expect(usage.status == 2)
    #expect(try object(usage)["kind"] as? String == "usage")
    // Contradictory output options.
    let both = try box.rehost("verify", "a.rehost", "--trust", "op.pub", "--json", "--quiet")
    #expect(both.status == 2 && both.stderr.contains("--json and --quiet exclude each other"), "\(both.output)")
    // Where the list itself is standard output, --json needs --out.
    let toStdout = try box.rehost("manifest", "export", "a.rehost", "--identity", "op.key", "--format", "sha256sum", "--json")
    #expect(toStdout.status == 2 && toStdout.stderr.contains("--json needs --out"), "\(toStdout.output)")
  }

  @Test("--quiet prints nothing on success, wherever a command prints a result")
  func quietEverywhere() throws {
    let box = try prepared()
    let runs: [[String]] = [
      ["keygen", "--out", "k", "--quiet"],
      ["verify", "a.rehost", "--trust", "op.pub", "--identity", "op.key", "--quiet"],
      ["restore", "a.rehost", "--trust", "op.pub", "--identity", "op.key", "--to", "q", "--quiet"],
      ["inspect", "a.rehost", "--quiet"],
      ["seal", "sign", "a.rehost", "--key", "auditor.key", "--role", "auditor", "--quiet"],
      ["seal", "show", "a.rehost", "--quiet"],
      ["manifest", "export", "a.rehost", "--identity", "op.key", "--format", "bagit", "--out", "bag", "--quiet"],
      ["check", "d", "--no-standard-blocklists", "--quiet"],
      ["backup", "init", "repo", "--sign", "op.key", "--recipient", "auditor.pub", "--quiet"],
    ]
    for arguments in runs {
      let r = try box.rehost(arguments)
      #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(arguments.joined(separator: " ")): \(r.output)")
    }
    // Without --quiet the same commands do print.
    #expect(try !box.rehost("inspect", "a.rehost").stdout.isEmpty)
  }

  @Test("progress with percent, totals and time left on a pseudo-terminal; nothing when not a terminal")
  func progressOnATerminal() throws {
    let box = try prepared()
    // util-linux `script` gives the command a pseudo-terminal and copies what it printed.
    func onTerminal(_ arguments: String) throws -> String {
      let r = try box.sh("script -qec \"'\(rehostBinary)' \(arguments)\" /dev/null")
      #expect(r.status == 0, "\(r.output)")
      return r.stdout.replacingOccurrences(of: "\r", with: "\n")
    }
    let pattern = #/: \d+% [0-9.]+ (B|KiB|MiB) of 2\.9 MiB, .*ETA (\d+:\d\d|--:--)/#
    let restore = try onTerminal("restore a.rehost --trust op.pub --identity op.key --to t1")
    #expect(restore.contains("restore: ") && restore.contains(pattern), "\(restore)")
    #expect(restore.contains("of 4 entries"), "\(restore)")
    let deep = try onTerminal("verify a.rehost --trust op.pub --identity op.key")
    #expect(deep.contains("verify: ") && deep.contains(pattern), "\(deep)")
    // Key-free: the archive's bytes against its size from the seal.
    let keyFree = try onTerminal("verify a.rehost --trust op.pub")
    #expect(keyFree.contains(#/verify: \d+% [0-9.]+ (B|KiB|MiB) of 2\.9 MiB, .*ETA/#), "\(keyFree)")
    let snapshot = try onTerminal("snapshot d --out c.rehost --recipient op.pub --sign op.key")
    #expect(snapshot.contains(#/snapshot: (\d+% .* ETA|\d+ entries)/#), "\(snapshot)")
    let check = try onTerminal("check d --no-standard-blocklists")
    #expect(check.contains(#/check: \d+% \d+ of 2 files/#), "\(check)")  // d/f and d/sub/big: directories are not files
    // --quiet and --json keep the terminal clean too.
    let quiet = try onTerminal("restore a.rehost --trust op.pub --identity op.key --to t2 --quiet")
    #expect(!quiet.contains("restore: "), "\(quiet)")
    // Not a terminal (cron, a pipe): no progress, no escape codes.
    let piped = try box.rehost("restore", "a.rehost", "--trust", "op.pub", "--identity", "op.key", "--to", "t3")
    #expect(piped.status == 0 && !piped.stderr.contains("\u{1b}") && piped.stderr.isEmpty, "\(piped.output)")
  }
}
