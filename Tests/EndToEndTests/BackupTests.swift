import Foundation
import Testing

/// Nightly backups (docs/BACKUP.md): chained seals in a repository, every tampering with
/// its history reported by sequence number, retention on faked dates (libfaketime),
/// overlapping and killed runs, a full disk, metrics that promtool accepts, and a host
/// that holds only public keys and its own signing key.
@Suite struct BackupTests {
  static let config = """
    backup: 1
    repository: repo
    sources: [srv/ca]
    recipients: [custodian.pub]
    signing-key: host.key
    metrics-file: metrics/rehost.prom

    """

  /// A host with a sample CA, its own key and the custodian's public key, a config, and
  /// a repository made by `init` (under `faked` time, if given).
  static func prepared(config: String = config, faked: String? = nil) throws -> Sandbox {
    let box = try Sandbox()
    try box.keygen("host", "custodian", "auditor", "operator")
    try box.mustSh("'\(packageRoot)/scripts/make-sample-ca.sh' srv/ca >/dev/null && mkdir metrics")
    try box.write("backup.yaml", Array(config.utf8))
    let r = try rehost(box, faked: faked, "backup", "init", "--config", "backup.yaml")
    #expect(r.status == 0, "\(r.output)")
    return box
  }

  /// rehost in the sandbox, under libfaketime's clock when `faked` ("2026-01-01 03:00:00").
  @discardableResult
  static func rehost(_ box: Sandbox, faked: String? = nil, _ arguments: String...) throws -> RunResult {
    guard let faked else { return try box.rehost(arguments) }
    return try run("/usr/bin/faketime", ["-f", "@" + faked] + [rehostBinary] + arguments, cwd: box.dir, environment: ["TZ": "UTC"])
  }

  @discardableResult
  static func backup(_ box: Sandbox, faked: String? = nil, config: String = "backup.yaml") throws -> RunResult {
    let r = try rehost(box, faked: faked, "backup", "run", "--config", config)
    #expect(r.status == 0, "backup run: \(r.output)")
    return r
  }

  static func verifyChain(_ box: Sandbox, _ repo: String = "repo", _ extra: String...) throws -> RunResult {
    try box.rehost(["backup", "verify-chain", repo, "--trust", "host.pub"] + extra)
  }

  static func names(_ box: Sandbox, _ repo: String = "repo") throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: box.path(repo)).filter { $0.hasSuffix(".rehost") }.sorted()
  }

  // MARK: The chain

  @Test func threeRunsMakeAChainAndEveryTamperingIsReportedBySequence() throws {
    let box = try Self.prepared()
    // Another repository sealed by the same key: its backups are valid, but not this one's.
    try box.write("other.yaml", Array(Self.config.replacingOccurrences(of: "repository: repo", with: "repository: other").utf8))
    #expect(try box.rehost("backup", "init", "--config", "other.yaml").status == 0)
    for _ in 0..<2 { try Self.backup(box, config: "other.yaml") }
    try Self.backup(box)
    try box.mustSh("cp -a repo repo-after-1")
    try Self.backup(box)
    try Self.backup(box)
    let names = try Self.names(box)
    #expect(names.count == 3 && names.map { $0.suffix(13) } == ["000001.rehost", "000002.rehost", "000003.rehost"], "\(names)")
    // The seals chain: each names the SHA-256 of the one before, as sha256sum gives it.
    let seal2 = String(decoding: try box.read("repo/\(names[1]).seal"), as: UTF8.self)
    let seal1SHA = try box.sh("sha256sum repo/\(names[0]).seal | cut -d' ' -f1").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(seal2.contains("\nSequence: 2\n") && seal2.contains("\nPrevious-Seal-SHA256: \(seal1SHA)\n") && seal2.contains("\nRepository: "), "\(seal2)")
    // Each backup is an ordinary archive: rehost verify, and the README's openssl procedure.
    #expect(try box.rehost("verify", "repo/\(names[2])", "--trust", "host.pub").status == 0)
    try box.mustSh("""
      sed -n '/<!-- auditor-procedure:begin -->/,/<!-- auditor-procedure:end -->/p' '\(packageRoot)/README.md' | grep -v -e '^<!--' -e '^```' > procedure.sh
      ARCHIVE=repo/\(names[1]) SEAL=repo/\(names[1]).seal SIGNER=host.pub K=1 ROLE=sealer sh procedure.sh | grep -q 'AUDIT PASSED' 
      """)
    let list = try box.rehost("backup", "list", "repo")
    #expect(list.status == 0 && list.stdout.split(separator: "\n").filter { $0.hasSuffix("  ok") }.count == 3, "\(list.output)")
    let good = try Self.verifyChain(box, "repo", "--state", "state.json")
    #expect(good.status == 0 && good.stdout.contains("intact: 3 backups recorded, 3 present and verified"), "\(good.output)")

    let other = try Self.names(box, "other")
    // (what is done to a copy `t` of the repository, the sequence named, words)
    let cases: [(String, String, Int, String)] = [
      ("a backup deleted", "rm t/\(names[1]) t/\(names[1]).seal", 2, "deleted without a prune record"),
      ("a seal deleted", "rm t/\(names[2]).seal", 3, "its seal is missing"),
      ("replaced by a valid backup of another repository",
       "cp other/\(other[1]) t/\(names[1]) && cp other/\(other[1]).seal t/\(names[1]).seal", 2, "replaced by a backup sealed for another repository"),
      ("replaced by an older backup of this repository",
       "cp t/\(names[1]) t/\(names[2]) && cp t/\(names[1]).seal t/\(names[2]).seal", 3, "replaced by backup 2's seal"),
      ("two backups swapped",
       "mv t/\(names[1]) x && mv t/\(names[1]).seal x.seal && mv t/\(names[2]) t/\(names[1]) && mv t/\(names[2]).seal t/\(names[1]).seal && mv x t/\(names[2]) && mv x.seal t/\(names[2]).seal",
       2, "replaced by backup 3's seal: backups were renamed or reordered"),
      ("a backup planted as the next one",
       "cp other/\(other[1]) t/20300101T000000Z-000004.rehost && cp other/\(other[1]).seal t/20300101T000000Z-000004.rehost.seal", 4,
       "a backup the chain does not record"),
      ("an archive's bytes changed under its seal",
       flipByteCommand("t/\(names[0])", at: 3000), 1, "the archive does not match its seal"),
    ]
    for (what, edit, sequence, words) in cases {
      try box.mustSh("rm -rf t && cp -a repo t && \(edit)")
      let r = try Self.verifyChain(box, "t")
      #expect(r.status == 4, "\(what): \(r.output)")
      #expect(r.stderr.contains("backup \(sequence) (") && r.stderr.contains(words), "\(what): expected backup \(sequence), \(words): \(r.stderr)")
    }
    // The chain file itself: an edited line is named.
    try box.mustSh("rm -rf t && cp -a repo t && sed -i -E '3s/\"entries\":[0-9]+/\"entries\":99999/' t/chain.jsonl")
    let edited = try Self.verifyChain(box, "t")
    #expect(edited.status == 4 && edited.stderr.contains("t/chain.jsonl:3: its signature does not verify"), "\(edited.output)")
    // The repository put back to its state of two runs ago: only the state file tells.
    try box.mustSh("rm -rf t && cp -a repo-after-1 t")
    #expect(try Self.verifyChain(box, "t").status == 0)
    let rolledBack = try Self.verifyChain(box, "t", "--state", "state.json")
    #expect(rolledBack.status == 4 && rolledBack.stderr.contains("rolled back") && rolledBack.stderr.contains("backups 2 to 3 are gone"), "\(rolledBack.output)")
    // Its newest chain lines cut off too, the files left: the same.
    try box.mustSh("rm -rf t && cp -a repo t && head -n 3 repo/chain.jsonl > t/chain.jsonl")
    let cut = try Self.verifyChain(box, "t", "--state", "state.json")
    #expect(cut.status == 4 && cut.stderr.contains("rolled back"), "\(cut.output)")
    // A chain rewritten with another history of the same length.
    try box.mustSh("rm -rf t && cp -a other t && cp repo/rehost-repo.json t/ ")
    // (another repository's chain does not even begin as this one's)
    #expect(try Self.verifyChain(box, "t").status == 4)
    // Nothing was changed in the real repository, which still verifies.
    #expect(try Self.verifyChain(box, "repo", "--state", "state.json").status == 0)
  }

  // MARK: Retention

  @Test func pruneKeepsExactlyWhatTheRetentionSaysOnFakedDates() throws {
    // One backup a night at 03:00 from 1 January to 14 February 2026, and two at 15:00.
    var times: [String] = []
    for day in 0..<45 { times.append(Self.date(2026, 1, 1 + day, 3)) }
    times.insert(Self.date(2026, 2, 13, 15), at: 44)
    times.append(Self.date(2026, 2, 14, 15))
    let box = try Self.prepared(faked: Self.date(2025, 12, 31, 12))
    for time in times { try Self.backup(box, faked: time) }
    let sequence = Dictionary(uniqueKeysWithValues: times.enumerated().map { (Self.label($0.element), $0.offset + 1) })
    func seq(_ labels: [String]) -> Set<Int> { Set(labels.map { sequence[$0]! }) }
    // (retention, the backups it keeps)
    let cases: [(String, Set<Int>)] = [
      ("{keep-last: 3}", seq(["02-14 15", "02-14 03", "02-13 15"])),
      ("{keep-daily: 3}", seq(["02-14 15", "02-13 15", "02-12 03"])),
      ("{keep-weekly: 2}", seq(["02-14 15", "02-08 03"])),  // ISO weeks 7 (9-15 Feb) and 6 (2-8 Feb)
      ("{keep-monthly: 2}", seq(["02-14 15", "01-31 03"])),
      ("{keep-monthly: 5}", seq(["02-14 15", "01-31 03", "01-01 03"])),  // fewer months than 5: the oldest too
      ("{keep-within: 2d}", seq(["02-14 15", "02-14 03", "02-13 15", "02-13 03"])),
      ("{keep-last: 1, keep-weekly: 2}", seq(["02-14 15", "02-08 03"])),
      ("{keep-daily: 2, keep-yearly: 1}", seq(["02-14 15", "02-13 15"])),
    ]
    for (retention, expected) in cases {
      try box.write("prune.yaml", Array((Self.config + "retention: \(retention)\n").utf8))
      let r = try box.rehost("backup", "prune", "--config", "prune.yaml", "--dry-run")
      #expect(r.status == 0, "\(retention): \(r.output)")
      let kept = Set(r.stdout.split(separator: "\n").filter { $0.hasPrefix("keep ") }.compactMap { Int($0.split(separator: " ")[1]) })
      let removed = Set(r.stdout.split(separator: "\n").filter { $0.hasPrefix("would remove") }.compactMap { Int($0.split(separator: " ")[2]) })
      #expect(kept == expected, "\(retention): kept \(kept.sorted()), expected \(expected.sorted())\n\(r.stdout)")
      #expect(removed == Set(1...times.count).subtracting(expected), "\(retention): removed \(removed.sorted())")
    }
    #expect(try Self.names(box).count == times.count, "a dry run removed something")
    // Pruned for real (as a run does at its end): only the kept remain; the chain verifies.
    try box.write("prune.yaml", Array((Self.config + "retention: {keep-daily: 3, keep-monthly: 2}\n").utf8))
    let pruned = try Self.rehost(box, faked: Self.date(2026, 2, 14, 16), "backup", "prune", "--config", "prune.yaml")
    #expect(pruned.status == 0 && pruned.stdout.contains("43 backups pruned, 4 kept"), "\(pruned.output)")
    let left = try Self.names(box).compactMap { name in Int(name.dropLast(7).suffix(6)) }
    #expect(Set(left) == seq(["02-14 15", "02-13 15", "02-12 03", "01-31 03"]), "\(left)")
    let verify = try Self.verifyChain(box)
    #expect(verify.status == 0 && verify.stdout.contains("pruned (keep-daily=3 keep-monthly=2)"), "\(verify.output)")
    // A backup deleted without a prune record still fails the chain.
    try box.mustSh("rm repo/*-0000$(printf %02d \(sequence["02-12 03"]!)).rehost*")
    let deleted = try Self.verifyChain(box)
    #expect(deleted.status == 4 && deleted.stderr.contains("backup \(sequence["02-12 03"]!) (") && deleted.stderr.contains("deleted without a prune record"),
            "\(deleted.output)")
    // And a later prune does not launder the deletion into a prune record.
    try box.write("tight.yaml", Array((Self.config + "retention: {keep-last: 1}\n").utf8))
    let tight = try Self.rehost(box, faked: Self.date(2026, 2, 14, 17), "backup", "prune", "--config", "tight.yaml")
    #expect(tight.stderr.contains("backup \(sequence["02-12 03"]!) is due for pruning, but its archive is missing"), "\(tight.output)")
    #expect(try Self.verifyChain(box).stderr.contains("deleted without a prune record"))
  }

  // MARK: Cron manners

  /// A source that takes a while to back up: 800 small files and a sparse file (320 MiB:
  /// about a second).
  static func slowSource(_ box: Sandbox, megabytes: Int = 320) throws {
    try box.mustSh("""
      mkdir -p srv/ca/bulk && for i in $(seq 800); do head -c 700 /dev/urandom > srv/ca/bulk/$i.pem; done
      truncate -s \(megabytes)M srv/ca/bulk/sparse.img
      """)
  }

  @Test func overlappingRunsExitAtOnceAndAKilledRunLeavesNoLock() throws {
    let box = try Self.prepared()
    try Self.slowSource(box)
    let r = try box.sh("""
      '\(rehostBinary)' backup run --config backup.yaml > first.out 2>&1 & first=$!
      for _ in $(seq 200); do [ -e repo/.lock ] && break; sleep 0.01; done
      start=$(date +%s%N)
      '\(rehostBinary)' backup run --config backup.yaml > second.out 2>&1; echo "second $?"
      echo "took $(( ($(date +%s%N) - start) / 1000000 ))"
      wait $first; echo "first $?"
      """)
    let second = String(decoding: try box.read("second.out"), as: UTF8.self)
    #expect(r.stdout.contains("second 8") && r.stdout.contains("first 0"), "\(r.output)\n\(second)")
    #expect(second.contains("another rehost run is busy: pid ") && second.contains("backing up into"), "\(second)")
    let took = Int(r.stdout.split(separator: "\n").first { $0.hasPrefix("took ") }?.dropFirst(5) ?? "") ?? 99_999
    #expect(took < 500, "the second run waited \(took) ms instead of exiting at once")
    // Killed outright while it holds the lock: the next run takes it and succeeds.
    try box.mustSh("""
      '\(rehostBinary)' backup run --config backup.yaml > killed.out 2>&1 & pid=$!
      for _ in $(seq 200); do [ -e repo/.lock ] && break; sleep 0.01; done; sleep 0.2
      kill -KILL $pid; wait $pid || true
      """)
    try Self.backup(box)
    let verify = try Self.verifyChain(box)
    #expect(verify.status == 0 && verify.stdout.contains("2 backups recorded"), "\(verify.output)")
  }

  @Test func sigkillAtRandomPointsNeverLeavesAPartialBackupListedAsComplete() throws {
    let box = try Self.prepared(config: Self.config + "retention: {keep-last: 3}\n")
    try Self.slowSource(box, megabytes: 128)
    let started = Date()
    try Self.backup(box)
    let whole = Date().timeIntervalSince(started)
    for round in 0..<20 {
      let delay = Double.random(in: 0...(whole * 1.1))
      try box.mustSh("""
        '\(rehostBinary)' backup run --config backup.yaml > run.out 2>&1 & pid=$!
        sleep \(String(format: "%.3f", delay)); kill -KILL $pid 2>/dev/null; wait $pid || true
        """)
      // Whatever the kill left: every backup listed as ok verifies, and the chain does.
      let list = try box.rehost("backup", "list", "repo", "--json")
      #expect(list.status == 0, "round \(round): \(list.output)")
      for line in list.stdout.split(separator: "\n") where line.contains(#""complete":true"#) {
        let archive = String(line.components(separatedBy: #""archive":""#)[1].prefix { $0 != "\"" })
        let v = try box.rehost("verify", "repo/" + archive, "--trust", "host.pub")
        #expect(v.status == 0, "round \(round) after \(delay) s: \(archive) is listed complete but: \(v.output)")
      }
      let chain = try Self.verifyChain(box)
      #expect(chain.status == 0, "round \(round) after \(delay) s: \(chain.output)")
      let next = try Self.backup(box)
      #expect(next.status == 0, "round \(round): the next run failed")
      let after = try Self.verifyChain(box)
      #expect(after.status == 0 && !after.stdout.contains("note:"), "round \(round): \(after.output)")
      let hidden = try FileManager.default.contentsOfDirectory(atPath: box.path("repo")).filter { $0.hasPrefix(".") }
      #expect(hidden.isEmpty, "round \(round): left \(hidden)")
    }
  }

  @Test func aFullDiskFailsClearlyAndLeavesEarlierBackupsAndTheChainAsTheyWere() throws {
    let box = try Sandbox()
    guard let disk = try FullDiskTests.SmallDisk(box, megabytes: 8) else { return }
    try box.keygen("host", "custodian")
    try box.mustSh("mkdir -p srv/ca metrics && head -c 3000000 /dev/urandom > srv/ca/big.bin && echo k > srv/ca/key.pem")
    try box.write("backup.yaml", Array(Self.config.replacingOccurrences(of: "repository: repo", with: "repository: \(disk.path)/repo").utf8))
    #expect(try box.rehost("backup", "init", "--config", "backup.yaml").status == 0)
    try Self.backup(box)
    try Self.backup(box)
    let chainBefore = try box.read("disk/repo/chain.jsonl")
    let full = try box.rehost("backup", "run", "--config", "backup.yaml")
    #expect(full.status == 1 && full.stderr.contains("No space left on device") && full.stderr.contains("hint:"), "\(full.output)")
    #expect(full.stderr.split(separator: "\n").count <= 2, "more than one short error for cron: \(full.stderr)")
    #expect(try box.read("disk/repo/chain.jsonl") == chainBefore, "the chain changed")
    let verify = try Self.verifyChain(box, disk.path + "/repo")
    #expect(verify.status == 0 && verify.stdout.contains("2 backups recorded, 2 present and verified"), "\(verify.output)")
    let hidden = try FileManager.default.contentsOfDirectory(atPath: disk.path + "/repo").filter { $0.hasPrefix(".") }
    #expect(hidden.isEmpty, "left \(hidden)")
    let metrics = String(decoding: try box.read("metrics/rehost.prom"), as: UTF8.self)
    #expect(metrics.contains("rehost_backup_last_exit_status{repository=\"\(disk.path)/repo\"} 1"), "\(metrics)")
  }

  @Test func theMetricsFilePassesPromtoolAfterSuccessAndFailure() throws {
    let box = try Self.prepared()
    let promtool = try #require(["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                "promtool is missing: make test-deps installs Debian's prometheus package")
    try Self.backup(box)
    let ok = try box.sh("'\(promtool)' check metrics < metrics/rehost.prom")
    #expect(ok.status == 0, "\(ok.output)")
    let text = String(decoding: try box.read("metrics/rehost.prom"), as: UTF8.self)
    for name in ["last_run_timestamp_seconds", "last_exit_status", "last_duration_seconds", "last_success_timestamp_seconds",
                 "last_bytes", "last_entries", "archives", "chain_length"] {
      #expect(text.contains("\nrehost_backup_\(name){repository="), "no \(name) in\n\(text)")
    }
    #expect(text.contains("rehost_backup_last_exit_status{repository=\"\(box.dir)/repo\"} 0"))
    // A failed run (the source gone) says so, and keeps the last success's time.
    let success = text.split(separator: "\n").first { $0.hasPrefix("rehost_backup_last_success_timestamp_seconds") }
    try box.mustSh("mv srv/ca srv/gone")
    let failed = try box.rehost("backup", "run", "--config", "backup.yaml", "--json")
    #expect(failed.status != 0 && failed.stdout.hasPrefix(#"{"status":"failed","exit":"#), "\(failed.output)")
    let after = String(decoding: try box.read("metrics/rehost.prom"), as: UTF8.self)
    #expect(after.contains("rehost_backup_last_exit_status{repository=\"\(box.dir)/repo\"} \(failed.status)"), "\(after)")
    #expect(after.split(separator: "\n").first { $0.hasPrefix("rehost_backup_last_success_timestamp_seconds") } == success)
    let bad = try box.sh("'\(promtool)' check metrics < metrics/rehost.prom")
    #expect(bad.status == 0, "\(bad.output)")
    // --metrics-file reports even a config nobody can read (an edit that broke it).
    try box.write("broken.yaml", Array("backup: 1\nrepository: [\n".utf8))
    let broken = try box.rehost("backup", "run", "--config", "broken.yaml", "--metrics-file", "metrics/cli.prom")
    let cli = String(decoding: try box.read("metrics/cli.prom"), as: UTF8.self)
    #expect(broken.status == 2 && cli.contains("rehost_backup_last_exit_status{repository=\"\"} 2"), "\(broken.output)\n\(cli)")
    #expect(try box.sh("'\(promtool)' check metrics < metrics/cli.prom").status == 0)
  }

  @Test func aHostHoldingOnlyPublicKeysBacksUpAndACustodianRestoresTheNewest() throws {
    let box = try Self.prepared()
    // The custodian's private key lives elsewhere; the host has its own key and public keys.
    try box.mustSh("mkdir -p custodian-home && mv custodian.key operator.key auditor.key custodian-home/")
    let quiet = try Self.backup(box)
    #expect(quiet.stdout.isEmpty && quiet.stderr.isEmpty, "not silent on success: \(quiet.output)")
    let json = try box.rehost("backup", "run", "--config", "backup.yaml", "--json")
    #expect(json.status == 0 && json.stdout.hasPrefix(#"{"status":"ok","repository":"#) && json.stdout.contains(#""sequence":2,"#), "\(json.output)")
    // The host cannot open its own backups.
    let newest = try box.rehost("backup", "list", "repo", "--newest")
    let archive = try #require(newest.stdout.components(separatedBy: "newest: ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
    let own = try box.rehost("restore", archive, "--to", "stolen", "--identity", "host.key", "--trust", "host.pub")
    #expect(own.status == 5, "the host's key opened a backup: \(own.output)")
    // A custodian, elsewhere, restores it.
    try box.mustSh("mv custodian-home/*.key . ")
    let restored = try box.rehost("restore", archive, "--to", "restored", "--identity", "custodian.key", "--trust", "host.pub")
    #expect(restored.status == 0, "\(restored.output)")
    try box.mustSh("diff -r srv/ca restored/ca")
    // The auditor with a custodian's key: every backup decrypted and checked, or a sample.
    let deep = try Self.verifyChain(box, "repo", "--deep", "--identity", "custodian.key")
    #expect(deep.status == 0 && deep.stdout.contains("2 deep-verified") && deep.stdout.contains("ok (deep)"), "\(deep.output)")
    let sample = try Self.verifyChain(box, "repo", "--deep", "--identity", "custodian.key", "--sample", "50%")
    #expect(sample.status == 0 && sample.stdout.contains("1 deep-verified"), "\(sample.output)")
    // The restore drill runbook takes the newest backup from the repository and checks it.
    try box.mustSh("""
      mv repo backups
      printf 'trust host.pub as sealer\\ntrust operator.pub as operator\\ntrust auditor.pub as auditor\\n' > policy.txt
      printf 'scratch-place: yes\\ndrill-witnessed: [auditor.key]\\n' > drill-answers.yaml
      """)
    let drill = try box.rehost("runbook", "run", packageRoot + "/runbooks/restore-drill.yaml", "--journal", "drill", "--as", "Olga",
                               "--key", "operator.key", "--answers", "drill-answers.yaml")
    #expect(drill.status == 0 && drill.stdout.contains("newest: backups/"), "\(drill.output)")
    #expect(try box.rehost("runbook", "verify", "drill").status == 0)
  }

  @Test func configsAndRepositoriesThatAreWrongAreRefusedWithTheirReason() throws {
    let box = try Self.prepared()
    // (what, the config, exit status, words)
    let cases: [(String, String, Int32, String)] = [
      ("an unknown key", Self.config + "retension: {keep-last: 3}\n", 2, "bad.yaml:7: unknown key `retension`"),
      ("a bad retention", Self.config + "retention: {keep-within: 3 weeks}\n", 2, "`keep-within:` is a duration"),
      ("no recipients", Self.config.replacingOccurrences(of: "recipients: [custodian.pub]\n", with: ""), 2, "name who can open the backups"),
      ("other recipients", Self.config.replacingOccurrences(of: "custodian.pub", with: "auditor.pub"), 6, "names other recipients"),
      ("another signing key", Self.config.replacingOccurrences(of: "host.key", with: "operator.key"), 6, "is not the key that seals"),
      ("the schema version", Self.config.replacingOccurrences(of: "backup: 1", with: "backup: 2"), 2, "`backup: 1`"),
    ]
    for (what, text, status, words) in cases {
      try box.write("bad.yaml", Array(text.utf8))
      let r = try box.rehost("backup", "run", "--config", "bad.yaml")
      #expect(r.status == status && r.stderr.contains(words), "\(what): \(r.output)")
    }
    // The host's own identity as a recipient: a thief of the host would read everything.
    try box.write("own.yaml", Array(Self.config.replacingOccurrences(of: "repository: repo", with: "repository: own")
      .replacingOccurrences(of: "custodian.pub", with: "host.pub").utf8))
    let own = try box.rehost("backup", "init", "--config", "own.yaml")
    #expect(own.status == 6 && own.stderr.contains("can decrypt these backups") && !box.exists("own/rehost-repo.json"), "\(own.output)")
    // A repository is made once.
    let twice = try box.rehost("backup", "init", "--config", "backup.yaml")
    #expect(twice.status == 6 && twice.stderr.contains("it is a repository already"), "\(twice.output)")
    // verify-chain trusts only the host's key.
    let wrongKey = try box.rehost("backup", "verify-chain", "repo", "--trust", "operator.pub")
    #expect(wrongKey.status == 4 && wrongKey.stderr.contains("not by the key you trust"), "\(wrongKey.output)")
    // An empty repository is older than any --max-age.
    let stale = try Self.verifyChain(box, "repo", "--max-age", "26h")
    #expect(stale.status == 7 && stale.stderr.contains("holds no backup"), "\(stale.output)")
    try Self.backup(box)
    #expect(try Self.verifyChain(box, "repo", "--max-age", "26h").status == 0)
    let old = try run("/usr/bin/faketime", ["-f", "+3d", rehostBinary, "backup", "verify-chain", "repo", "--trust", "host.pub", "--max-age", "2d"],
                      cwd: box.dir, environment: ["TZ": "UTC"])
    #expect(old.status == 7 && old.stderr.contains("more than --max-age 2.0 days"), "\(old.output)")
  }

  static func date(_ year: Int, _ month: Int, _ day: Int, _ hour: Int) -> String {
    var c = DateComponents()
    (c.year, c.month, c.day, c.hour) = (year, month, day, hour)
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let date = calendar.date(from: c)!
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return f.string(from: date)
  }

  /// "2026-02-14 15:00:00" as "02-14 15".
  static func label(_ time: String) -> String { String(time.dropFirst(5).prefix(8)) }
}
