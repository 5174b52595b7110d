import Foundation
import RehostBase
import RehostFormat
import RehostServices
import RehostStorage

/// `rehost backup list`: the backups of a repository as its chain records them, with what
/// is on disk for each (quick: sizes and seal hashes, no archive read). A backup shows as
/// complete only when the chain records it and its files are the recorded ones.
public enum Listing {
  public struct Row: Sendable {
    public let sequence: Int
    public let archive: String
    public let created: String
    public let size: Int64
    public let entries: Int64
    public let signer: String
    public let status: String
    /// Recorded, and its files the recorded ones.
    public let complete: Bool
  }

  public static func rows(_ files: any RepositoryFiles) throws -> (Repository, [Row]) {
    let repository = try Repository.open(files)
    let chain = try Chain.read(repository)
    let listing = try files.list()
    var rows: [Row] = []
    for backup in chain.backups {
      let status: String
      var complete = false
      if chain.prunes[backup.sequence] != nil {
        status = "pruned"
      } else if let why = Prune.problem(repository, backup, listing: listing) {
        status = "BAD: \(why)"
      } else {
        status = "ok"
        complete = true
      }
      rows.append(Row(sequence: backup.sequence, archive: backup.archive, created: backup.created, size: backup.archiveSize,
                      entries: backup.entries, signer: repository.signer, status: status, complete: complete))
    }
    // What the chain does not record: never shown as complete.
    let recorded = Set(chain.backups.map(\.archive))
    for name in listing.keys.sorted() where !recorded.contains(name) && !name.hasPrefix(".") {
      guard let sequence = Repository.sequence(inName: name) else { continue }
      let sealed = listing[name + ".seal"] != nil
      let facts = sealed ? (try? repository.files.read(name + ".seal", what: "seal", limit: Seal.maxSealBytes))
        .flatMap { $0 }.flatMap { try? SealFacts(fields: Seal.parse($0).statement) } : nil
      rows.append(Row(sequence: sequence, archive: name, created: facts?.created ?? "-", size: facts?.archiveSize ?? 0,
                      entries: Int64(facts?.entries ?? 0), signer: facts?.sealer ?? "-",
                      status: sealed ? "unrecorded: not in the chain (a stopped run's, which the next run records, or foreign)"
                        : "incomplete: no seal (a stopped run's; the next run removes it)", complete: false))
    }
    return (repository, rows)
  }

  /// The newest complete backup's archive path (for a restore drill).
  public static func newest(_ files: any RepositoryFiles) throws -> String {
    let (repository, rows) = try rows(files)
    guard let newest = rows.filter(\.complete).max(by: { $0.sequence < $1.sequence }) else {
      throw RehostError(.usage, "\(files.shown) holds no complete backup", hint: "run `rehost backup run` first")
    }
    return repository.file(newest.archive)
  }
}
