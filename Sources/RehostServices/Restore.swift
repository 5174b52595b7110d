import Foundation
import RehostBase
import RehostDatabases
import RehostFormat
import RehostStorage

/// Where and how to restore.
public struct RestoreOptions {
  public var archive: String
  public var sealPath: String?
  /// The directory to create (or, with `force`, replace); each source lands in DIR/<name>.
  /// nil restores databases only (files are still checked, not written).
  public var target: String?
  /// Where each database goes, by its name in the archive; databases not named here are
  /// checked but not restored.
  public var databases: [String: DatabaseLocation] = [:]
  /// Whose signatures count, and what the seal needs.
  public var policy: TrustPolicy
  /// Bag serials the counted signatures must have recorded (nil: not checked).
  public var expectedBags: [String]?
  public var identities: [Identity]
  /// Custodian share files (from `rehost share export`) for a k-of-n archive.
  public var shareFiles: [String] = []
  /// Replace a non-empty target. The old content is swapped out only after the new
  /// content checked out, then deleted.
  public var force = false
  /// Lay the target out as a BagIt bag: the tree under DIR/data, tag files beside it.
  public var bagit = false
  /// Restore special entries (device nodes, setuid/setgid files, world-writable ones,
  /// files with capabilities); without it they are refused, by name.
  public var allowSpecial = false
  /// Leave owners to the restorer, on purpose: as root, everything becomes root's; as
  /// another user, the archive's secret material is restored although its owners cannot be.
  public var noOwners = false

  public init(archive: String, target: String?, policy: TrustPolicy, identities: [Identity]) {
    self.archive = archive
    self.target = target
    self.policy = policy
    self.identities = identities
  }
}

public struct RestoreReport: Sendable {
  public let target: String?
  public let facts: SealFacts
  public let signatures: [SignatureCheck]
  public let payload: PayloadSummary
  /// The entries written under the target: the payload's, less the database dumps (which
  /// go to their servers, or nowhere without `--db`).
  public let restored: ManifestTotals
  public let databases: [DatabaseRestoreReport]
  /// Things done on the side (leftovers of an interrupted restore removed, ...).
  public let notes: [String]
  /// Metadata that could not be restored (extended attributes the target refused, owners).
  public let problems: [String]
}

/// Restores an archive: seal checked first, then everything extracted into a staging
/// directory beside the target while each entry is checked against the manifest, and
/// moved into place only when all of it, and the archive's hash, checked out.
public enum Restore {
  public static func run(_ options: RestoreOptions, progress: ProgressObserver? = nil) throws -> RestoreReport {
    guard options.target != nil || !options.databases.isEmpty else {
      throw RehostError(.usage, "nothing to restore into", hint: "give --to DIR, --db NAME=..., or both")
    }
    let seal = try SealCheck.load(archive: options.archive, sealPath: options.sealPath)
    let signatures = try SealCheck.check(seal, policy: options.policy, expectedBags: options.expectedBags)
    let facts = try SealFacts(fields: seal.statement)
    try SealCheck.expectSealFor(options.archive, facts, sealGiven: options.sealPath != nil)
    let sourceNames = facts.sources.filter { $0.hasPrefix("/") }.map { URL(fileURLWithPath: $0).lastPathComponent }
    let files = try options.target.map {
      try RestoreTarget(path: $0, force: options.force, bagit: options.bagit, allowSpecial: options.allowSpecial,
                        restoreOwners: geteuid() == 0 && !options.noOwners, sources: sourceNames)
    }
    var notes: [String] = []
    // Everything that could fail at the end (a target that cannot be written) fails
    // here, before the first byte is decrypted.
    do { try files?.prepare(&notes) } catch { files?.abort(); throw error }
    let databases = DatabaseRestore(targets: options.databases)
    if databases.loadsLive {
      // A server database is loaded as the archive streams, before its last byte is
      // read: the whole file is held against the seal first.
      let (sha256, size) = try Verify.hashFile(options.archive)
      try SealCheck.compare(facts, sha256: sha256, size: size)
    }
    do {
      let reader = try ArchiveFileReader(path: options.archive)
      try Verify.checkRecipients(reader.header, facts)
      let tar = try reader.openPayload(with: options.identities, shareFiles: options.shareFiles)
      let manifest = options.bagit ? try SpoolFile() : nil
      let handler = RoutingHandler(files: files?.handler ?? DiscardingHandler(), databases: databases)
      let payload = try PayloadWalker(tar: tar, seal: facts, progress: progress, manifestCopy: manifest).run(handler)
      try reader.finish(against: facts, payload: payload)
      if let refused = files?.handler?.refused, !refused.isEmpty {
        let shown = refused.prefix(20).map { "\($0.path) (\($0.why))" }.joined(separator: "; ")
        throw RehostError(.refused, "the archive holds \(refused.count) special \(refused.count == 1 ? "entry" : "entries"): \(shown)\(refused.count > 20 ? "; ..." : "")",
                          hint: "nothing was restored (the archive itself checked out); if these belong to the CA host, restore again with --allow-special")
      }
      let databaseReports = try databases.finish(records: payload.databases)
      var problems = files?.handler?.writer.problems ?? []
      if let handler = files?.handler, geteuid() != 0 || options.noOwners, !handler.foreignOwners.isEmpty {
        try Self.checkOwners(handler.foreignOwners, secrets: payload.manifestHeader.secrets ?? [], noOwners: options.noOwners, problems: &problems)
      }
      if let files {
        try files.seal(facts: facts, manifest: manifest)
        let committed = try files.commit()
        if !committed.replaced.isEmpty {
          notes.append("replaced \(RestoreTarget.list(committed.replaced)) in \(files.path)"
            + (committed.kept > 0 ? "; its other \(committed.kept) entries were kept" : "")
            + (files.leftOver.map { "; some of the old content could not be deleted and is in \($0)" } ?? ""))
        }
      } else if payload.totals.entries > payload.databases.reduce(0, { $0 + $1.files.count }) {
        notes.append("the archive's files were checked but not restored (no --to DIR)")
      }
      try databases.commit()
      for name in databases.skipped {
        notes.append("database \(name) was checked but not restored (add --db \(name)=ENGINE:TARGET)")
      }
      return RestoreReport(target: files?.path, facts: facts, signatures: signatures, payload: payload,
                           restored: files?.handler?.written ?? ManifestTotals(),
                           databases: databaseReports, notes: notes, problems: problems)
    } catch {
      databases.abort()
      files?.abort()
      throw error
    }
  }

  /// Names the owners a restore by someone other than root could not keep, and refuses
  /// to restore the inventory's secret material under the wrong owner unless told to.
  static func checkOwners(_ owners: [String: Int], secrets: [String], noOwners: Bool, problems: inout [String]) throws {
    let me = "\(geteuid()):\(getegid())"
    let shown = owners.sorted { $0.value > $1.value }.prefix(8).map { "\($0.key) (\($0.value) entries)" }.joined(separator: ", ")
    if noOwners {
      problems.append("owners were left to the restorer (--no-owners): entries of \(shown) now belong to \(me)")
      return
    }
    if !secrets.isEmpty {
      throw RehostError(.refused, "restoring as uid \(geteuid()), not root: the archive's secret material (\(secrets.prefix(5).joined(separator: ", "))\(secrets.count > 5 ? ", ..." : "")) would belong to \(me) instead of its owners \(shown)",
                        hint: "nothing was restored; restore as root to keep the owners, or pass --no-owners to restore everything owned by \(me) on purpose")
    }
    problems.append("owners were not restored (restore as root to keep them): entries of \(shown) now belong to \(me)")
  }
}
