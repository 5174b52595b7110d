import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import RehostStorage

/// `rehost backup restore`: one backup of a repository, local or on a remote, chosen by
/// its sequence number (or the newest), restored only if the chain records it with this
/// very seal; from a remote, the one archive is spooled first (a restore reads it twice).
public enum BackupRestore {
  /// The backup to restore, where its archive now is, and the scratch directory to remove.
  public struct Located: Sendable {
    public let backup: Chain.Backup
    public let archive: String
    public let scratch: String?
    /// The policy its seal must meet: sealed by the repository's key.
    public let policy: TrustPolicy

    public func removeScratch() {
      if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }
  }

  public static func locate(_ files: any RepositoryFiles, sequence: Int?, trusted: AsymmetricKey) throws -> Located {
    let repository = try Repository.open(files)
    try repository.requireSigner(trusted)
    let chain = try Chain.read(repository)
    let live = chain.live
    let chosen: Chain.Backup
    if let sequence {
      guard let backup = chain.backup(sequence) else {
        throw RehostError(.usage, "\(files.shown) records no backup \(sequence) (backups 1 to \(chain.last?.sequence ?? 0))", hint: "`rehost backup list` shows them")
      }
      guard chain.prunes[sequence] == nil else {
        throw RehostError(.usage, "backup \(sequence) of \(files.shown) was pruned", hint: "choose a backup `rehost backup list` shows as ok")
      }
      chosen = backup
    } else {
      guard let newest = live.last else { throw RehostError(.usage, "\(files.shown) holds no backup", hint: "run `rehost backup run` first") }
      chosen = newest
    }
    guard let seal = try files.read(chosen.archive + ".seal", what: "seal", limit: Seal.maxSealBytes) else {
      throw RehostError(.seal, "backup \(chosen.sequence): its seal is missing from \(files.shown)", hint: "restore from another copy of the repository")
    }
    guard Hex.encode(SHA256.hash(seal)) == chosen.sealSHA256 else {
      throw RehostError(.seal, "backup \(chosen.sequence): its seal on \(files.shown) is not the one the chain records (replaced)",
                        hint: "run `rehost backup verify-chain` on it; restore from another copy")
    }
    let policy = Repository.sealerPolicy(trusted)
    guard let remote = files as? RcloneFiles else {
      return Located(backup: chosen, archive: repository.file(chosen.archive), scratch: nil, policy: policy)
    }
    let scratch = try remote.fetch(chosen.archive, seal: seal)
    return Located(backup: chosen, archive: scratch + "/" + chosen.archive, scratch: scratch, policy: policy)
  }
}
