import Foundation
import Testing

/// Offsite copies through rclone (docs/BACKUP.md, "Offsite copies"), against a real SFTP
/// server (Debian's sshd on 127.0.0.1): nightly runs copy their backups, the copy is
/// audited and restored through rclone with no local copy of the repository, tampering
/// there is reported by sequence, and a server that goes away mid-copy fails the run
/// with exit 9 while the local backup stands; the next run completes the copy.
@Suite(.serialized, .enabled(if: SFTPServer.missing == nil, "\(SFTPServer.missing ?? "")"))
struct OffsiteTests {
  /// A host with a sample CA, its keys, an SFTP server, and a repository whose config
  /// copies every backup to the server's `remote/` directory.
  static func prepared(big: Bool = false, retention: String = "") throws -> (Sandbox, SFTPServer) {
    let box = try Sandbox()
    try box.keygen("host", "custodian", "auditor")
    try box.mustSh("'\(packageRoot)/scripts/make-sample-ca.sh' srv/ca >/dev/null && mkdir metrics")
    if big { try box.mustSh("head -c 24000000 /dev/urandom > srv/ca/big.bin") }
    let server = try SFTPServer(box)
    try box.write("backup.yaml", Array((BackupTests.config.trimmingCharacters(in: .newlines) + "\n" + """
      offsite:
        rclone-config: rclone.conf
        remotes: ["offsite:\(box.path("remote"))"]
      \(retention)
      """).utf8))
    let r = try box.rehost("backup", "init", "--config", "backup.yaml")
    #expect(r.status == 0, "\(r.output)")
    return (box, server)
  }

  static func remote(_ box: Sandbox) -> String { "rclone:offsite:" + box.path("remote") }

  static func verifyRemote(_ box: Sandbox, _ extra: String...) throws -> RunResult {
    try box.rehost(["backup", "verify-chain", remote(box), "--trust", "host.pub", "--rclone-config", "rclone.conf"] + extra)
  }

  @Test func nightlyRunsCopyTheirBackupsWhichAreAuditedAndRestoredThroughRclone() throws {
    let (box, server) = try Self.prepared()
    defer { server.stop() }
    for night in 1...3 {
      try box.mustSh("echo 'night \(night)' >> srv/ca/index.txt")
      try BackupTests.backup(box)
    }
    let there = try FileManager.default.contentsOfDirectory(atPath: box.path("remote")).sorted()
    #expect(there.filter { $0.hasSuffix(".rehost") }.count == 3 && there.filter { $0.hasSuffix(".rehost.seal") }.count == 3
            && there.contains("chain.jsonl") && there.contains("rehost-repo.json"), "\(there)")
    #expect(try box.read("remote/chain.jsonl") == box.read("repo/chain.jsonl"))
    let metrics = String(decoding: try box.read("metrics/rehost.prom"), as: UTF8.self)
    #expect(metrics.contains("rehost_backup_offsite_last_exit_status{repository=\"\(box.dir)/repo\",remote=\"offsite:\(box.dir)/remote\"} 0"), "\(metrics)")

    // The auditor, through rclone only: the chain and every archive's hash, no key.
    let audit = try Self.verifyRemote(box)
    #expect(audit.status == 0 && audit.stdout.contains("3 backups recorded, 3 present and verified"), "\(audit.output)")
    let list = try box.rehost("backup", "list", Self.remote(box), "--rclone-config", "rclone.conf")
    #expect(list.status == 0 && list.stdout.split(separator: "\n").filter { $0.hasSuffix("  ok") }.count == 3, "\(list.output)")
    let deep = try Self.verifyRemote(box, "--deep", "--identity", "custodian.key", "--sample", "30%")
    #expect(deep.status == 0 && deep.stdout.contains("1 deep-verified"), "\(deep.output)")

    // A custodian restores the newest backup, and an older one, from the remote.
    let restored = try box.rehost("backup", "restore", Self.remote(box), "--latest", "--to", "restored", "--identity", "custodian.key",
                                  "--trust", "host.pub", "--rclone-config", "rclone.conf")
    #expect(restored.status == 0 && restored.stdout.contains("restored backup 3"), "\(restored.output)")
    try box.mustSh("diff -r srv/ca restored/ca")
    let first = try box.rehost("backup", "restore", Self.remote(box), "--sequence", "1", "--to", "first", "--identity", "custodian.key",
                               "--trust", "host.pub", "--rclone-config", "rclone.conf")
    #expect(first.status == 0 && first.stdout.contains("restored backup 1"), "\(first.output)")
    try box.mustSh("grep -q 'night 1' first/ca/index.txt && ! grep -q 'night 2' first/ca/index.txt")
    #expect(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("rehost-restore-") && box.exists($0) }.isEmpty)

    // Tampering on the remote: backup 2 replaced by backup 1 (a valid archive and seal).
    let names = there.filter { $0.hasSuffix(".rehost") }
    try box.mustSh("cd remote && cp \(names[0]) \(names[1]) && cp \(names[0]).seal \(names[1]).seal")
    let replaced = try Self.verifyRemote(box)
    #expect(replaced.status == 4 && replaced.stderr.contains("backup 2 (\(names[1])): replaced by backup 1's seal"), "\(replaced.output)")
    let refused = try box.rehost("backup", "restore", Self.remote(box), "--sequence", "2", "--to", "second", "--identity", "custodian.key",
                                 "--trust", "host.pub", "--rclone-config", "rclone.conf")
    #expect(refused.status == 4 && refused.stderr.contains("not the one the chain records") && !box.exists("second"), "\(refused.output)")

    // `backup copy` by hand repairs what the remote lacks or has wrong (sizes differ: a
    // cut upload), and leaves what is right.
    try box.mustSh("cd remote && cp ../repo/\(names[1]).seal . && truncate -s 1000 \(names[1])")
    let copy = try box.rehost("backup", "copy", "repo", "offsite:" + box.path("remote"), "--rclone-config", "rclone.conf")
    #expect(copy.status == 0 && copy.stdout.contains("copied \(names[1])\n") && copy.stdout.contains("1 files copied"), "\(copy.output)")
    #expect(try Self.verifyRemote(box).status == 0)
  }

  @Test func aServerGoneMidCopyFailsTheRunWithNineAndTheNextRunCompletesTheCopy() throws {
    let (box, server) = try Self.prepared(big: true)
    try BackupTests.backup(box)
    // The second night's copy, slowed to 4 MB/s, loses its server half way.
    try box.mustSh("head -c 24000000 /dev/urandom > srv/ca/big2.bin")
    let r = try box.sh("""
      RCLONE_BWLIMIT=4M '\(rehostBinary)' backup run --config backup.yaml > run.out 2> run.err & pid=$!
      for i in $(seq 600); do [ "$(ls remote | grep -c 'rehost$')" -ge 2 ] && break; sleep 0.05; done
      sleep 0.5
      echo "before the stop: $(ps -o stat= -p $pid | grep -qv Z && echo running || echo ended)"
      \(server.stopCommand)
      wait $pid; echo "status $?"
      """)
    server.stopped()
    #expect(r.stdout.contains("before the stop: running"), "the copy ended before the server was stopped: \(r.output)")
    #expect(r.stdout.contains("status 9"), "\(r.output)")
    let err = String(decoding: try box.read("run.err"), as: UTF8.self)
    #expect(err.contains("backed up, but not copied offsite") && err.contains("offsite:\(box.dir)/remote") && err.contains("rclone could not"), "\(err)")
    // The local backup stands: two backups, the chain intact; the remote's chain still the first night's.
    let local = try BackupTests.verifyChain(box)
    #expect(local.status == 0 && local.stdout.contains("2 backups recorded, 2 present and verified"), "\(local.output)")
    let metrics = String(decoding: try box.read("metrics/rehost.prom"), as: UTF8.self)
    #expect(metrics.contains("rehost_backup_offsite_last_exit_status{repository=\"\(box.dir)/repo\",remote=\"offsite:\(box.dir)/remote\"} 9"), "\(metrics)")
    // The server back: the next run copies the second night's backup and its own.
    try server.restart()
    try BackupTests.backup(box)
    let audit = try Self.verifyRemote(box)
    #expect(audit.status == 0 && audit.stdout.contains("3 backups recorded, 3 present and verified"), "\(audit.output)")
  }

  /// What the retention prunes here is deleted there too, unless the remote refuses (an
  /// object lock; here an immutable file): kept, said, and not a failure.
  @Test(.enabled(if: geteuid() == 0, "chattr +i needs root"))
  func pruneDeletesOnTheRemoteWhatTheRetentionRemovesAndKeepsWhatTheRemoteRefuses() throws {
    let (box, server) = try Self.prepared(retention: "retention: {keep-last: 1}\n")
    defer { server.stop() }
    try BackupTests.backup(box)
    let first = try #require(try BackupTests.names(box).first)
    try box.mustSh("chattr +i remote/\(first)")
    defer { _ = try? box.sh("chattr -i remote/\(first)") }
    try box.mustSh("echo more >> srv/ca/index.txt")
    let second = try box.rehost("backup", "run", "--config", "backup.yaml", "--verbose")
    #expect(second.status == 0 && second.stdout.contains("pruned backup 1"), "\(second.output)")
    #expect(second.stderr.contains("keeps \(first) (") && second.stderr.contains("still locked there"), "\(second.output)")
    let there = try FileManager.default.contentsOfDirectory(atPath: box.path("remote")).filter { $0.contains(".rehost") }.sorted()
    let newest = try #require(try BackupTests.names(box).last)
    #expect(there == [first, newest, newest + ".seal"].sorted(), "\(there)")
    let audit = try Self.verifyRemote(box)
    #expect(audit.status == 0 && audit.stdout.contains("pruned (keep-last=1)") && audit.stdout.contains("1 present and verified"), "\(audit.output)")
  }

  /// S3 (moto's server, a bucket with Object Lock): backups copied, audited and restored
  /// through rclone; a locked version cannot be deleted.
  @Test(.enabled(if: S3Server.missing == nil, "\(S3Server.missing ?? "")"))
  func backupsCopiedToALockedS3BucketAreAuditedAndRestoredThere() throws {
    let (box, server) = try Self.prepared()
    defer { server.stop() }
    let s3 = try S3Server(box)
    defer { s3.stop() }
    let remote = try s3.takeOverBackupConfig()
    let rehost = S3Server.rehost
    for night in 1...2 {
      try box.mustSh("echo 'night \(night)' >> srv/ca/index.txt && \(rehost) backup run --config backup.yaml")
    }
    let audit = try box.sh("\(rehost) backup verify-chain rclone:\(remote) --trust host.pub --rclone-config rclone-s3.conf")
    #expect(audit.status == 0 && audit.stdout.contains("2 backups recorded, 2 present and verified"), "\(audit.output)")
    let restored = try box.sh("""
      \(rehost) backup restore rclone:\(remote) --latest --to restored --identity custodian.key --trust host.pub --rclone-config rclone-s3.conf
      """)
    #expect(restored.status == 0, "\(restored.output)")
    try box.mustSh("diff -r srv/ca restored/ca")
    // The bucket's lock holds: the first backup's archive cannot be deleted for good.
    let names = try BackupTests.names(box)
    let (first, second) = (names[0], names[1])
    let refused = try s3.deleteLockedVersion("ca1/" + first)
    #expect(refused == "AccessDenied", "deleting a locked version: \(refused)")

    // Someone with the host's credentials, through rclone: deleting every version fails,
    // under the lock; overwriting one backup and deleting another's seal "succeed" (a new
    // version, a delete marker) ...
    let rclone = "\(S3Server.environment) rclone --config rclone-s3.conf"
    let purge = try box.sh("\(rclone) delete --s3-versions --retries 1 s3:\(s3.bucket)/ca1")
    #expect(purge.status != 0 && purge.stderr.contains("AccessDenied"), "\(purge.output)")
    try box.mustSh("""
      \(rclone) copyto repo/\(second) s3:\(s3.bucket)/ca1/\(first) && \(rclone) copyto repo/\(second).seal s3:\(s3.bucket)/ca1/\(first).seal
      \(rclone) deletefile s3:\(s3.bucket)/ca1/\(second).seal
      """)
    // ... and verify-chain reads through to the locked originals: it passes, and says
    // loudly what was done to the objects under their names.
    let after = try box.sh("\(rehost) backup verify-chain rclone:\(remote) --trust host.pub --rclone-config rclone-s3.conf")
    #expect(after.status == 0 && after.stdout.contains("2 backups recorded, 2 present and verified"), "\(after.output)")
    #expect(after.stdout.contains("backup 1 (\(first)): the object under its name was tampered with (replaced by backup 2's seal"), "\(after.output)")
    #expect(after.stdout.contains("backup 2 (\(second)): the object under its name was tampered with (its seal is missing"), "\(after.output)")
    #expect(after.stdout.contains("the original, kept by the bucket's versioning, is intact and verified"), "\(after.output)")
    // Over SFTP (no versions) the same replacement is a failure: see the test above.
  }

  /// A prune on a locked S3 bucket: every version of the pruned backup is refused under
  /// the lock, kept, said, and not a failure; nothing is hidden under a delete marker.
  @Test(.enabled(if: S3Server.missing == nil, "\(S3Server.missing ?? "")"))
  func pruneOnALockedBucketKeepsTheBackupAndSaysSo() throws {
    let (box, server) = try Self.prepared(retention: "retention: {keep-last: 1}\n")
    server.stop()
    let s3 = try S3Server(box)
    defer { s3.stop() }
    let remote = try s3.takeOverBackupConfig()
    let rehost = S3Server.rehost
    try box.mustSh("\(rehost) backup run --config backup.yaml")
    let first = try #require(try BackupTests.names(box).first)
    let second = try box.sh("echo more >> srv/ca/index.txt && \(rehost) backup run --config backup.yaml --verbose")
    #expect(second.status == 0 && second.stdout.contains("pruned backup 1"), "\(second.output)")
    #expect(second.stderr.contains("keeps \(first) (") && second.stderr.contains("still locked there"), "\(second.output)")
    // Still there under its own name (no delete marker), and audited as pruned.
    let listing = try box.sh("\(S3Server.environment) rclone --config rclone-s3.conf lsf \(remote)").stdout
    #expect(listing.contains(first + "\n") && listing.contains(first + ".seal\n"), "\(listing)")
    let audit = try box.sh("\(rehost) backup verify-chain rclone:\(remote) --trust host.pub --rclone-config rclone-s3.conf")
    #expect(audit.status == 0 && audit.stdout.contains("pruned (keep-last=1)") && audit.stdout.contains("1 present and verified"), "\(audit.output)")
  }

  @Test func remotesAreNamedAndCredentialsNeverPrinted() throws {
    let (box, server) = try Self.prepared()
    defer { server.stop() }
    try BackupTests.backup(box)
    // A remote given as a connection string with a password: refused by the server, and
    // the password never printed.
    let r = try box.rehost("backup", "copy", "repo", ":sftp,host=127.0.0.1,port=1,user=nobody,pass=hunter2:/x")
    #expect(r.status == 9 && r.stderr.contains("rclone could not") && !r.output.contains("hunter2"), "\(r.output)")
    // Not a remote at all, in the config: its line.
    try box.mustSh("sed 's|remotes: .*|remotes: [backups]|' backup.yaml > bad.yaml")
    let bad = try box.rehost("backup", "run", "--config", "bad.yaml")
    #expect(bad.status == 2 && bad.stderr.contains("bad.yaml:9:") && bad.stderr.contains("is not an rclone remote"), "\(bad.output)")
    // A remote that holds another repository (another id) is not written to.
    try box.mustSh("mkdir other && cp -r remote/. other/ && sed -i -E 's/\"id\":\"[0-9a-f]{32}\"/\"id\":\"00000000000000000000000000000000\"/' other/rehost-repo.json && ! cmp -s remote/rehost-repo.json other/rehost-repo.json")
    let other = try box.rehost("backup", "copy", "repo", "offsite:" + box.path("other"), "--rclone-config", "rclone.conf")
    #expect(other.status == 9 && other.stderr.contains("holds another repository"), "\(other.output)")
  }
}
