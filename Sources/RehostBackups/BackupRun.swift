import Foundation
import RehostBase
import RehostCrypto
import RehostDatabases
import RehostFormat
import RehostServices
import RehostStorage

/// What a nightly run did.
public struct BackupSummary: Sendable {
  public let repository: Repository
  /// The backup this run made.
  public let backup: Chain.Backup
  /// A backup a stopped run had sealed but not recorded, recorded by this run.
  public let adopted: Chain.Backup?
  public let pruned: [Chain.Backup]
  public let warnings: [String]
  public let notes: [String]
  /// Backups in the repository after the run (recorded, not pruned), and backups ever recorded.
  public let live: Int
  public let chainLength: Int
  /// The offsite copies made after the backup, and those that failed (the backup stands).
  public let offsite: [OffsiteCopy.Result]
  public let offsiteFailures: [(remote: String, error: RehostError)]
}

/// The nightly job (`rehost backup run`, docs/BACKUP.md): one run at a time per
/// repository; what dead runs left removed; a backup sealed in the chain of seals
/// (its seal names the repository, its sequence number and the previous seal); recorded
/// in `chain.jsonl`; then retention applied.
public enum BackupRun {
  public static func run(_ config: BackupConfig) throws -> BackupSummary {
    let repository = try Repository.open(config.repository)
    let signer = try Identities.signer(config)
    guard let signingKey = signer.signing else { throw RehostError(.key, "\(config.signingKey) has no Ed25519 signing key") }
    guard signingKey.fingerprint() == repository.signer else {
      throw RehostError(.refused, "\(config.signingKey) is not the key that seals \(repository.path) (\(repository.signer.prefix(16))…)",
                        hint: "give the repository's signing key in \(config.file), or `rehost backup init` a new repository")
    }
    var options = try Identities.snapshotOptions(config, signer: signer)
    let recipients = try Snapshot.sealRecipients(options)
    guard recipients == repository.recipients else {
      throw RehostError(.refused, "\(config.file) names other recipients (\(recipients.joined(separator: "; "))) than \(repository.path) was created for (\(repository.recipients.joined(separator: "; ")))",
                        hint: "who can open a repository's backups does not change: restore the config, or `rehost backup init` a new repository")
    }
    var warnings = Identities.ownKeyWarnings(signer: signer, recipients: recipients)

    let lock = try LockFile(path: repository.file(".lock"), purpose: "backing up into \(repository.path)")
    defer { lock.release() }
    var notes = RunLeftovers.removeAll(in: repository.path, marker: AtomicFile.marker).map { "removed \($0), left by a run that was stopped" }
    var chain = try repairedChain(repository, notes: &notes)
    notes += try recoverHalfCommitted(repository, chain: chain)
    let log = try chain.appender(repository)
    let adopted = try adopt(repository, chain: chain, log: log, signer: signingKey)
    if adopted != nil { chain = try Chain.read(repository) }

    let sequence = (chain.last?.sequence ?? 0) + 1
    let now = Timestamp.now()
    if let newest = chain.last?.created, now < newest {
      warnings.append("this host's clock (\(now)) is before the newest backup's time (\(newest)): check the clock; retention goes by the seals' times")
    }
    let name = Repository.archiveName(sequence: sequence, time: now)
    options.output = repository.file(name)
    options.repository = RepositoryLink(id: repository.id, sequence: sequence, previousSealSHA256: chain.last?.sealSHA256)
    let result = try Snapshot.run(options)
    warnings += result.warnings
    notes += result.notes
    let f = result.facts
    let backup = Chain.Backup(sequence: sequence, archive: name, archiveSHA256: f.archiveSHA256, archiveSize: f.archiveSize,
                              sealSHA256: Hex.encode(SHA256.hash(try InputFile.read(result.sealPath, what: "seal", limit: Seal.maxSealBytes))),
                              created: f.created, entries: Int64(f.entries), contentBytes: f.contentBytes, line: log.nextSeq + 1)
    try Chain.record(backup, to: log, signer: signingKey)

    var pruned: [Chain.Backup] = []
    chain = try Chain.read(repository)
    if !config.retention.isEmpty {
      let plan = Prune.plan(repository, chain: chain, retention: config.retention)
      warnings += plan.refused.map { "backup \($0.backup.sequence) (\($0.backup.archive)) is due for pruning, but \($0.why): not recorded as pruned; `rehost backup verify-chain` reports it" }
      pruned = try Prune.apply(plan, repository: repository, log: try chain.appender(repository), retention: config.retention, signer: signingKey)
      chain = try Chain.read(repository)
    }
    // Offsite last, still holding the lock (no run changes the repository under the
    // copy); a remote that fails does not undo the backup, and the next run copies again.
    let rclone = Rclone(configFile: config.rcloneConfig)
    var offsite: [OffsiteCopy.Result] = [], failures: [(remote: String, error: RehostError)] = []
    for remote in config.offsite {
      do {
        let result = try OffsiteCopy.run(repository, to: remote, rclone: rclone)
        offsite.append(result)
        notes += result.kept.map { "\(Rclone.shown(remote)) keeps \($0): pruned here, still locked there" }
      } catch let error as RehostError {
        failures.append((remote, error))
      }
    }
    return BackupSummary(repository: repository, backup: backup, adopted: adopted, pruned: pruned, warnings: warnings, notes: notes,
                         live: chain.live.count, chainLength: chain.backups.count, offsite: offsite, offsiteFailures: failures)
  }

  /// The chain, its last line dropped if a crash cut it short (the only damage a run
  /// repairs; anything else stops the run).
  static func repairedChain(_ repository: Repository, notes: inout [String]) throws -> Chain {
    let path = repository.chainPath
    var bytes = try InputFile.read(path, what: "chain", limit: 1 << 30, kind: .seal)
    if let last = bytes.last, last != 0x0a {
      let end = (bytes.lastIndex(of: 0x0a) ?? -1) + 1
      let dropped = bytes.count - end
      bytes.removeSubrange(end...)
      guard truncate(path, off_t(end)) == 0 else { throw SystemError.io("repair the chain", path) }
      notes.append("dropped the chain's last line (\(dropped) bytes), cut short by a crash while it was written")
    }
    return try Chain.read(repository, bytes: bytes)
  }

  /// An archive whose seal a run killed between the two renames left under its
  /// temporary name: both removed (the run never recorded them).
  static func recoverHalfCommitted(_ repository: Repository, chain: Chain) throws -> [String] {
    let recorded = Set(chain.backups.map(\.archive))
    let names = (try? FileManager.default.contentsOfDirectory(atPath: repository.path)) ?? []
    return try names.filter { Repository.sequence(inName: $0) != nil && !recorded.contains($0) && !names.contains($0 + ".seal") }
      .flatMap { try SnapshotCommit.recoverInterrupted(archive: repository.file($0), seal: repository.file($0 + ".seal")) }
  }

  /// Records the backup a run sealed and was stopped before recording: the next one in
  /// the chain of seals, sealed by the repository's key, whole.
  static func adopt(_ repository: Repository, chain: Chain, log: SignedLogFile, signer: AsymmetricKey) throws -> Chain.Backup? {
    let sequence = (chain.last?.sequence ?? 0) + 1
    let names = (try? FileManager.default.contentsOfDirectory(atPath: repository.path)) ?? []
    guard let name = names.first(where: { Repository.sequence(inName: $0) == sequence && names.contains($0 + ".seal") }) else { return nil }
    let policy = TrustPolicy(keys: [.init(key: signer, path: "the repository's key", roles: ["sealer"], person: "host")],
                             requirements: [.role("sealer", count: 1)], source: "the repository's key")
    guard let report = try? Verify.run(VerifyOptions(archive: repository.file(name), policy: policy)),
          report.facts.repository == RepositoryLink(id: repository.id, sequence: sequence, previousSealSHA256: chain.last?.sealSHA256) else {
      return nil
    }
    let f = report.facts
    let seal = try InputFile.read(repository.file(name + ".seal"), what: "seal", limit: Seal.maxSealBytes)
    let backup = Chain.Backup(sequence: sequence, archive: name, archiveSHA256: f.archiveSHA256, archiveSize: f.archiveSize,
                              sealSHA256: Hex.encode(SHA256.hash(seal)), created: f.created, entries: Int64(f.entries),
                              contentBytes: f.contentBytes, line: log.nextSeq + 1)
    try Chain.record(backup, to: log, signer: signer)
    return backup
  }
}

/// The keys a config names, and the snapshot they make.
enum Identities {
  /// The host's signing identity; an encrypted key needs its passphrase file (cron has
  /// no terminal to ask on).
  static func signer(_ config: BackupConfig) throws -> PrivateIdentity {
    let passphrase = try config.signingKeyPassphraseFile.map { try KeyFiles.passphrase(file: $0) }
    if passphrase == nil, try KeyFiles.isEncrypted(config.signingKey) {
      throw RehostError(.key, "the signing key \(config.signingKey) is encrypted and \(config.file) gives no signing-key-passphrase-file",
                        hint: "a nightly job has no terminal to ask on: add `signing-key-passphrase-file:` (mode 0600)")
    }
    return try KeyFiles.readPrivate(config.signingKey, passphrase: passphrase)
  }

  static func snapshotOptions(_ config: BackupConfig, signer: PrivateIdentity) throws -> SnapshotOptions {
    let listed = try config.inventory.map { try Inventory(file: $0, root: config.root) }
    let databases = try config.sources.filter(DatabaseLocation.looksLikeDatabase).map(DatabaseLocation.init(parsing:))
    var options = SnapshotOptions(sources: config.sources.filter { !DatabaseLocation.looksLikeDatabase($0) } + (listed?.sources ?? []),
                                  databases: databases + (listed?.databases ?? []), output: "", signer: signer)
    options.inventory = listed
    options.recipients = try config.recipients.map(KeyFiles.readPublic)
    if let (k, keys) = config.custodians { options.custodians = (k, try keys.map(KeyFiles.readPublic)) }
    options.label = config.label.isEmpty ? (listed?.label ?? "") : config.label
    options.excludes = config.excludes + (listed?.excludes ?? [])
    return options
  }

  /// The host must not be able to open its own backups: its identity's X25519 key among
  /// the recipients means a thief of the host reads them all.
  static func ownKeyWarnings(signer: PrivateIdentity, recipients: [String]) -> [String] {
    guard let own = signer.encryption?.fingerprint(), recipients.contains(where: { $0.hasSuffix(" " + own) }) else { return [] }
    return ["the host's own identity (\(signer.path)) can decrypt these backups: a thief of this host reads them all; "
              + "make a new repository whose recipients are the custodians' public keys only"]
  }
}

/// `rehost backup init`: a new repository for the recipients and the signing key given.
public enum BackupInit {
  public static func run(_ config: BackupConfig) throws -> Repository {
    let signer = try Identities.signer(config)
    return try create(config.repository, options: try Identities.snapshotOptions(config, signer: signer), signer: signer)
  }

  public static func run(path: String, recipients: [String], custodians: (Int, [String])?, signingKey: String,
                         passphrase: [UInt8]?) throws -> Repository {
    let signer = try KeyFiles.readPrivate(signingKey, passphrase: passphrase)
    var options = SnapshotOptions(sources: [], output: "", signer: signer)
    options.recipients = try recipients.map(KeyFiles.readPublic)
    if let (k, keys) = custodians { options.custodians = (k, try keys.map(KeyFiles.readPublic)) }
    return try create(path, options: options, signer: signer)
  }

  static func create(_ path: String, options: SnapshotOptions, signer: PrivateIdentity) throws -> Repository {
    guard let key = signer.signing else { throw RehostError(.key, "\(signer.path) has no Ed25519 signing key") }
    let recipients = try Snapshot.sealRecipients(options)
    if let warning = Identities.ownKeyWarnings(signer: signer, recipients: recipients).first {
      throw RehostError(.refused, warning, hint: "list the custodians' public keys as recipients, never the host's own")
    }
    return try Repository.create(at: path, recipients: recipients, signer: key)
  }
}
