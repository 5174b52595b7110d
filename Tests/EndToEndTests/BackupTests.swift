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
      ARCHIVE=repo/\(names[1]) SEAL=repo/\(names[1]).seal SIGNER=host.pub K=1 bash -e procedure.sh
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
       "printf 'X' | dd of=t/\(names[0]) bs=1 seek=3000 conv=notrunc 2>/dev/null", 1, "the archive does not match its seal"),
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
