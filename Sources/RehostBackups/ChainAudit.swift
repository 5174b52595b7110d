import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import RehostStorage

/// What `rehost backup verify-chain` is asked to check.
public struct ChainAuditOptions {
  public var repository: any RepositoryFiles
  /// The host's public key: the only key whose seals and chain lines count.
  public var trusted: AsymmetricKey
  /// Remembers the chain seen last time, to tell a rollback or a rewritten history.
  public var statePath: String?
  /// Seconds the newest backup may be old.
  public var maxAge: Double?
  /// Deep-verify with these identities (all backups, or a sample).
  public var identities: [Identity] = []
  public var samplePercent: Double = 100
  public var now = time(nil)

  public init(repository: any RepositoryFiles, trusted: AsymmetricKey) {
    self.repository = repository
    self.trusted = trusted
  }
}

/// The audit of a repository (docs/BACKUP.md, "Auditing the chain"): the chain's lines,
/// every backup's files, seal and place in the chain of seals, prunes against their
/// recorded retention, files the chain does not record, and, with a state file, the
/// chain seen before.
public struct ChainAudit: Sendable {
  public struct Row: Sendable {
    public let sequence: Int
    public let archive: String
    public let created: String
    public let size: Int64
    public let entries: Int64
    public let status: String
  }

  public let repository: Repository
  public let rows: [Row]
  /// What is wrong, each naming the backup's sequence number.
  public let problems: [String]
  /// What is not wrong but worth saying (a backup a stopped run left unrecorded).
  public let notes: [String]
  /// Set when the newest backup is older than `maxAge`.
  public let stale: String?
  public let deepVerified: [Int]

  public static func run(_ options: ChainAuditOptions) throws -> ChainAudit {
    let repository = try Repository.open(options.repository)
    try repository.requireSigner(options.trusted)
    let chain = try Chain.read(repository)
    let listing = try repository.files.list()
    var problems: [String] = [], notes: [String] = []
    if let statePath = options.statePath {
      problems += try ChainState.compare(statePath, repository: repository, chain: chain)
    }
    let policy = Repository.sealerPolicy(options.trusted)
    let live = chain.live
    let deep = Set(sample(live.map(\.sequence), percent: options.identities.isEmpty ? 0 : options.samplePercent))
    var rows: [Row] = []
    var deepVerified: [Int] = []
    for backup in chain.backups {
      func row(_ status: String) {
        rows.append(Row(sequence: backup.sequence, archive: backup.archive, created: backup.created, size: backup.archiveSize,
                        entries: backup.entries, status: status))
      }
      let tag = "backup \(backup.sequence) (\(backup.archive))"
      if let prune = chain.prunes[backup.sequence] {
        // A prune counts only under its own recorded retention, applied to what was there.
        let items = prune.liveBefore.compactMap(chain.backup).map { Retention.Item(sequence: $0.sequence, created: $0.created) }
        if let rules = Retention(description: prune.policy)?.keep(items)[backup.sequence] {
          problems.append("\(tag): pruned at chain line \(prune.line), but its recorded retention (\(prune.policy)) keeps it (\(rules.joined(separator: ", ")))")
          row("pruned against its retention")
        } else {
          row("pruned (\(prune.policy))")
        }
        continue
      }
      if let why = fileProblem(repository, chain: chain, backup: backup, listing: listing) {
        // On a locked bucket the original outlives an overwrite or a delete: find it.
        if let original = lockedOriginal(repository, backup: backup, policy: policy) {
          notes.append("\(tag): the object under its name was tampered with (\(why)), but the original, kept by the bucket's "
            + "versioning, is intact and verified (\(original)): find out who changed it; the credentials may be in other hands")
          row("ok (the locked original; the current object was tampered with)")
          continue
        }
        problems.append("\(tag): \(why)")
        row("BAD: \(why)")
        continue
      }
      do {
        _ = try repository.files.verify(backup.archive, seal: backup.archive + ".seal", policy: policy,
                                        identities: deep.contains(backup.sequence) ? options.identities : [])
        if deep.contains(backup.sequence) { deepVerified.append(backup.sequence) }
        row(deep.contains(backup.sequence) ? "ok (deep)" : "ok")
      } catch let error as RehostError {
        problems.append("\(tag): \(error.message)")
        row("BAD: \(error.message)")
      }
    }
    let (unrecordedProblems, unrecordedNotes) = unrecorded(repository, chain: chain, policy: policy, listing: listing)
    problems += unrecordedProblems
    notes += unrecordedNotes
    for backup in chain.backups where chain.prunes[backup.sequence] != nil && listing[backup.archive + ".seal"] != nil {
      notes.append("backup \(backup.sequence) was pruned but its files are still there (a run stopped while removing them; the next run does)")
    }

    var stale: String?
    if let maxAge = options.maxAge {
      let newest = live.compactMap { Timestamp.seconds($0.created) }.max()
      if newest == nil || Double(options.now - newest!) > maxAge {
        stale = newest.map { "the newest backup is \(Self.age(Double(options.now - $0))) old, more than --max-age \(Self.age(maxAge)): the nightly job has stopped running or failing" }
          ?? "the repository holds no backup"
      }
    }
    if problems.isEmpty, let statePath = options.statePath {
      try ChainState.save(statePath, repository: repository, chain: chain, now: options.now)
    }
    return ChainAudit(repository: repository, rows: rows, problems: problems, notes: notes, stale: stale, deepVerified: deepVerified)
  }

  /// The earlier versions of a recorded backup's seal and archive that are the ones the
  /// chain records and verify (the seal's SHA-256 is the chain's; the archive checks out
  /// against it): their names, or nil. Only a store that keeps versions has any.
  static func lockedOriginal(_ repository: Repository, backup: Chain.Backup, policy: TrustPolicy) -> String? {
    let files = repository.files
    let sealName = backup.archive + ".seal"
    let seals = ((try? files.earlierVersions(of: sealName)) ?? []) + [sealName]
    guard let seal = seals.first(where: { name in
      (try? files.read(name, what: "seal", limit: Seal.maxSealBytes)).flatMap { $0 }.map { Hex.encode(SHA256.hash($0)) == backup.sealSHA256 } ?? false
    }) else { return nil }
    for archive in ((try? files.earlierVersions(of: backup.archive)) ?? []) + [backup.archive] {
      guard seal != sealName || archive != backup.archive else { continue }  // that pair is the one that failed
      if (try? files.verify(archive, seal: seal, policy: policy, identities: [])) != nil { return "\(archive), \(seal)" }
    }
    return nil
  }

  /// What is wrong with a recorded backup's files: gone, replaced, moved, or not in its
  /// place in the chain of seals (nil when its seal is the one recorded and says so).
  static func fileProblem(_ repository: Repository, chain: Chain, backup: Chain.Backup, listing: [String: Int64]) -> String? {
    let archive = listing[backup.archive] != nil
    guard listing[backup.archive + ".seal"] != nil,
          let seal = try? repository.files.read(backup.archive + ".seal", what: "seal", limit: Seal.maxSealBytes) else {
      return archive ? "its seal is missing (deleted without a prune record)" : "deleted without a prune record (archive and seal are missing)"
    }
    guard archive else { return "its archive is missing (deleted without a prune record)" }
    guard Hex.encode(SHA256.hash(seal)) == backup.sealSHA256 else {
      guard let facts = try? SealFacts(fields: Seal.parse(seal).statement) else { return "its seal was replaced by one that is not a seal" }
      guard let link = facts.repository else { return "its seal was replaced by the seal of an archive outside any repository" }
      if link.id != repository.id { return "replaced by a backup sealed for another repository (\(link.id))" }
      if link.sequence != backup.sequence { return "replaced by backup \(link.sequence)'s seal: backups were renamed or reordered" }
      return "its seal was replaced by another seal for the same place in the chain (a fork)"
    }
    // The recorded seal: it must say it is this backup, after the one before it.
    guard let facts = try? SealFacts(fields: Seal.parse(seal).statement) else { return "its seal cannot be read" }
    let expected = RepositoryLink(id: repository.id, sequence: backup.sequence, previousSealSHA256: chain.backup(backup.sequence - 1)?.sealSHA256)
    guard facts.repository == expected else { return "its seal is not linked as backup \(backup.sequence) of this repository after backup \(backup.sequence - 1)" }
    return nil
  }

  /// Backups in the directory that the chain does not record: the one a stopped run left
  /// (the next in the chain of seals, sealed by the host: a note), or anything else (a
  /// problem: planted, or a fork).
  static func unrecorded(_ repository: Repository, chain: Chain, policy: TrustPolicy,
                         listing: [String: Int64]) -> (problems: [String], notes: [String]) {
    let recorded = Set(chain.backups.map(\.archive))
    let names = listing.keys.sorted()
    var problems: [String] = [], notes: [String] = []
    for name in names where !name.hasPrefix(".") {
      let archive = name.hasSuffix(".rehost.seal") ? String(name.dropLast(5)) : name
      guard let sequence = Repository.sequence(inName: archive), !recorded.contains(archive) else { continue }
      if name.hasSuffix(".seal") && listing[archive] != nil { continue }  // reported with its archive
      let next = (chain.last?.sequence ?? 0) + 1
      if sequence == next, listing[archive + ".seal"] != nil,
         let report = try? repository.files.verify(archive, seal: archive + ".seal", policy: policy, identities: []),
         report.facts.repository == RepositoryLink(id: repository.id, sequence: next, previousSealSHA256: chain.last?.sealSHA256) {
        notes.append("backup \(sequence) (\(archive)) is sealed but not yet in the chain: a run was stopped before recording it; the next run records it")
      } else if listing[archive + ".seal"] == nil || listing[archive] == nil {
        problems.append("backup \(sequence) (\(name)): a file the chain does not record, without its \(name.hasSuffix(".seal") ? "archive" : "seal")")
      } else {
        problems.append("backup \(sequence) (\(archive)): a backup the chain does not record (planted, or a fork of the chain)")
      }
    }
    return (problems, notes)
  }

  /// About `percent` % of `sequences`, at least one when there are any, at random.
  static func sample(_ sequences: [Int], percent: Double) -> [Int] {
    guard percent > 0, !sequences.isEmpty else { return [] }
    let count = max(1, Int((Double(sequences.count) * min(percent, 100) / 100).rounded(.up)))
    return Array(sequences.shuffled().prefix(count))
  }

  static func age(_ seconds: Double) -> String {
    seconds >= 172_800 ? String(format: "%.1f days", seconds / 86_400) : String(format: "%.1f h", seconds / 3_600)
  }
}

/// What `verify-chain --state FILE` remembers: the chain's length and last line's hash,
/// and the highest backup seen (docs/BACKUP.md, "The state file").
enum ChainState {
  static let format = "rehost-chain-state/1"

  static func compare(_ path: String, repository: Repository, chain: Chain) throws -> [String] {
    guard FileManager.default.fileExists(atPath: path) else { return [] }
    let bytes = try InputFile.read(path, what: "state file", limit: 64 * 1024)
    guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any], object["format"] as? String == format,
          let id = object["repository"] as? String, let lines = object["lines"] as? Int, lines >= 1,
          let head = object["head"] as? String, let sequence = object["sequence"] as? Int, let checked = object["checked"] as? String else {
      throw RehostError(.usage, "\(path) is not a \(format) file", hint: "give the file an earlier verify-chain --state wrote, or a new path")
    }
    guard id == repository.id else {
      throw RehostError(.usage, "\(path) remembers repository \(id), not \(repository.id)", hint: "keep one state file per repository")
    }
    let newest = chain.last?.sequence ?? 0
    if chain.lines.count < lines {
      return ["rolled back: the chain has \(chain.lines.count) lines and backups up to \(newest); on \(checked) it had \(lines) lines and backups up to \(sequence) (backups \(newest + 1) to \(sequence) are gone): the repository was put back to an older state"]
    }
    let raw = SignedLog.lines(try repository.files.read(Repository.chainName, what: "chain", limit: 1 << 30) ?? []).lines
    guard SignedLog.hash(raw[lines - 1]) == head else {
      return ["history rewritten: chain line \(lines) is not the one seen on \(checked) (backups up to \(sequence) then): the chain was replaced"]
    }
    return []
  }

  static func save(_ path: String, repository: Repository, chain: Chain, now: time_t) throws {
    let text = "{\"format\":\(JSONText.string(format)),\"repository\":\(JSONText.string(repository.id)),\"lines\":\(chain.lines.count),"
      + "\"head\":\(JSONText.string(chain.head)),\"sequence\":\(chain.last?.sequence ?? 0),\"checked\":\(JSONText.string(Timestamp.format(seconds: now)))}\n"
    let file = try AtomicFile(path: path, mode: 0o644)
    try Array(text.utf8).withUnsafeBytes { try file.write($0) }
    try file.commit(replace: true)
  }
}
