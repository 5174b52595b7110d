import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import RehostStorage

/// Retention applied to a repository (docs/BACKUP.md, "Retention"): what to keep and
/// why, what to remove; a removal is recorded in the chain, signed, before its files go.
public enum Prune {
  public struct Plan: Sendable {
    /// Backups kept, newest first, with the rules that keep each.
    public let keep: [(backup: Chain.Backup, reasons: [String])]
    /// Backups to prune: recorded, then removed.
    public let remove: [Chain.Backup]
    /// Backups the retention would remove whose files are missing or not the ones
    /// recorded: never recorded as pruned (that would hide a deletion).
    public let refused: [(backup: Chain.Backup, why: String)]
    /// Pruned earlier, files still there (a run stopped between the record and the removal).
    public let leftover: [Chain.Backup]
  }

  public static func plan(_ repository: Repository, chain: Chain, retention: Retention) -> Plan {
    let live = chain.live
    let kept = retention.keep(live.map { Retention.Item(sequence: $0.sequence, created: $0.created) })
    let listing = (try? repository.files.list()) ?? [:]
    var remove: [Chain.Backup] = [], refused: [(Chain.Backup, String)] = []
    for backup in live where kept[backup.sequence] == nil {
      if let why = problem(repository, backup, listing: listing) { refused.append((backup, why)) } else { remove.append(backup) }
    }
    let keep = live.reversed().compactMap { backup in kept[backup.sequence].map { (backup, $0) } }
    let leftover = chain.backups.filter { backup in
      chain.prunes[backup.sequence] != nil && [backup.archive, backup.archive + ".seal"].contains { listing[$0] != nil }
    }
    return Plan(keep: keep, remove: remove, refused: refused, leftover: leftover)
  }

  /// Why a backup's files are not the ones the chain records (nil when they are):
  /// sizes from `listing`, the seal's hash from its bytes.
  static func problem(_ repository: Repository, _ backup: Chain.Backup, listing: [String: Int64]) -> String? {
    guard let size = listing[backup.archive] else { return "its archive is missing" }
    guard listing[backup.archive + ".seal"] != nil,
          let seal = try? repository.files.read(backup.archive + ".seal", what: "seal", limit: Seal.maxSealBytes) else { return "its seal is missing" }
    guard Hex.encode(SHA256.hash(seal)) == backup.sealSHA256 else { return "its seal is not the one recorded" }
    guard size == backup.archiveSize else { return "its archive's size is not the one recorded" }
    return nil
  }

  /// Records each removal in the chain, then removes the files; also removes what earlier
  /// prunes left. Returns the backups removed.
  public static func apply(_ plan: Plan, repository: Repository, log: SignedLogFile, retention: Retention, signer: AsymmetricKey) throws -> [Chain.Backup] {
    for backup in plan.remove {
      try Chain.recordPrune(backup, retention: retention, to: log, signer: signer)
    }
    for backup in plan.remove + plan.leftover {
      // The archive first: a seal left without its archive is plainly a pruned backup's.
      for name in [backup.archive, backup.archive + ".seal"] where unlink(repository.file(name)) != 0 && errno != ENOENT {
        throw SystemError.io("remove the pruned backup's file", repository.file(name))
      }
    }
    return plan.remove
  }
}

/// `rehost backup prune`: the plan, applied under the repository's lock unless a dry run.
public enum BackupPrune {
  public static func run(_ config: BackupConfig, dryRun: Bool) throws -> (Prune.Plan, [Chain.Backup]) {
    let repository = try Repository.open(config.repository)
    if dryRun { return (Prune.plan(repository, chain: try Chain.read(repository), retention: config.retention), []) }
    let signer = try Identities.signer(config)
    guard let key = signer.signing, key.fingerprint() == repository.signer else {
      throw RehostError(.refused, "\(config.signingKey) is not the key that signs \(repository.path)'s chain")
    }
    let lock = try LockFile(path: repository.file(".lock"), purpose: "pruning \(repository.path)")
    defer { lock.release() }
    let chain = try Chain.read(repository)
    let plan = Prune.plan(repository, chain: chain, retention: config.retention)
    return (plan, try Prune.apply(plan, repository: repository, log: try chain.appender(repository), retention: config.retention, signer: key))
  }
}
