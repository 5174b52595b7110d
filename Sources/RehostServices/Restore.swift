import CPosix
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
  public let databases: [DatabaseRestoreReport]
  /// Things done on the side (leftovers of an interrupted restore removed, ...).
  public let notes: [String]
}

/// Restores an archive: seal checked first, then everything extracted into a staging
/// directory beside the target while each entry is checked against the manifest, and
/// moved into place only when all of it, and the archive's hash, checked out.
public enum Restore {
  public static func run(_ options: RestoreOptions, progress: ProgressObserver? = nil) throws -> RestoreReport {
    guard options.target != nil || !options.databases.isEmpty else {
      throw RehostError(.usage, "nothing to restore into", hint: "give --to DIR, --db NAME=..., or both")
    }
    let files = try options.target.map { try FileTarget(path: $0, force: options.force, bagit: options.bagit) }

    let seal = try SealCheck.load(archive: options.archive, sealPath: options.sealPath)
    let signatures = try SealCheck.check(seal, policy: options.policy, expectedBags: options.expectedBags)
    let facts = try SealFacts(fields: seal.statement)
    let databases = DatabaseRestore(targets: options.databases)
    if databases.loadsLive {
      // A server database is loaded as the archive streams, before its last byte is
      // read: the whole file is held against the seal first.
      let (sha256, size) = try Verify.hashFile(options.archive)
      try SealCheck.compare(facts, sha256: sha256, size: size)
    }
    let reader = try ArchiveFileReader(path: options.archive)
    try Verify.checkRecipients(reader.header, facts)
    let tar = try reader.openPayload(with: options.identities, shareFiles: options.shareFiles)

    var notes: [String] = []
    do {
      try files?.prepare(&notes)
      let manifest = options.bagit ? try SpoolFile() : nil
      let handler = RoutingHandler(files: files?.handler ?? DiscardingHandler(), databases: databases)
      let payload = try PayloadWalker(tar: tar, progress: progress, manifestCopy: manifest).run(handler)
      try reader.finish(against: facts, payload: payload)
      let databaseReports = try databases.finish(records: payload.databases)
      if let files {
        try files.seal(facts: facts, manifest: manifest)
        if try files.commit() { notes.append("the previous content of \(files.path) was replaced") }
      } else if payload.totals.entries > payload.databases.reduce(0, { $0 + $1.files.count }) {
        notes.append("the archive's files were checked but not restored (no --to DIR)")
      }
      try databases.commit()
      for name in databases.skipped {
        notes.append("database \(name) was checked but not restored (add --db \(name)=ENGINE:TARGET)")
      }
      return RestoreReport(target: files?.path, facts: facts, signatures: signatures, payload: payload,
                           databases: databaseReports, notes: notes)
    } catch {
      databases.abort()
      files?.abort()
      throw error
    }
  }

  enum TargetState { case absent, empty, nonEmpty }

  static func state(of path: String) throws -> TargetState {
    var st = stat()
    if lstat(path, &st) != 0 {
      if errno == ENOENT { return .absent }
      throw SystemError.io("inspect", path)
    }
    guard st.st_mode & S_IFMT == S_IFDIR else {
      throw RehostError(.refused, "\(path) exists and is not a directory", hint: "restore into a directory")
    }
    let contents = try FileManager.default.contentsOfDirectory(atPath: path)
    return contents.isEmpty ? .empty : .nonEmpty
  }

  /// Moves the staging tree into place. Returns the path now holding the old content
  /// when a non-empty target was swapped out.
  static func commit(staging: String, target: String, state: TargetState) throws -> String? {
    switch state {
    case .absent:
      guard rehost_rename_noreplace(staging, target) == 0 else { throw SystemError.io("move the restored tree to", target) }
      syncDirectory(of: target)
      return nil
    case .empty:
      // rename(2) atomically replaces an empty directory.
      guard rename(staging, target) == 0 else { throw SystemError.io("move the restored tree to", target) }
      syncDirectory(of: target)
      return nil
    case .nonEmpty:
      // One atomic swap: the target holds either the old tree or the new, never a mix.
      guard rehost_exchange_paths(staging, target) == 0 else { throw SystemError.io("swap the restored tree into", target) }
      syncDirectory(of: target)
      return staging
    }
  }

  /// Staging directories of a restore that was killed (their names are ours alone).
  static func removeLeftovers(in parent: String, name: String) -> [String] {
    let prefix = "." + name + ".rehost-staging-"
    let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter { $0.hasPrefix(prefix) }
    return leftovers.compactMap { leftover in
      (try? removeTree(parent + "/" + leftover)).map { "removed \(parent)/\(leftover), left by an interrupted restore" }
    }
  }

  static func currentUmask() -> mode_t {
    let mask = umask(0o022)
    umask(mask)
    return mask
  }
}

/// The directory a restore fills: a staging directory beside it receives the tree, which
/// replaces it in one rename once everything checked out.
final class FileTarget {
  let path: String
  private let parent: String
  private let name: String
  private let state: Restore.TargetState
  private let bagit: Bool
  private var staging: String?
  private var cleanup = 0
  private(set) var handler: ExtractingHandler?

  init(path given: String, force: Bool, bagit: Bool) throws {
    path = URL(fileURLWithPath: given).standardizedFileURL.path
    name = URL(fileURLWithPath: path).lastPathComponent
    let parentGiven = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard let parentResolved = realpath(parentGiven, nil) else {
      throw RehostError(.usage, "the parent of \(path) does not exist", hint: "create \(parentGiven) first")
    }
    parent = String(cString: parentResolved)
    free(parentResolved)
    state = try Restore.state(of: path)
    self.bagit = bagit
    if state == .nonEmpty && !force {
      throw RehostError(.refused, "\(path) is not empty",
                        hint: "restore into a new directory, or pass --force to replace it (the old content is removed only after the new content checked out)")
    }
  }

  /// Removes an interrupted restore's leftovers and creates the staging directory.
  func prepare(_ notes: inout [String]) throws {
    notes += Restore.removeLeftovers(in: parent, name: name)
    let staging = parent + "/." + name + ".rehost-staging-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    guard mkdir(staging, 0o700) == 0 else { throw SystemError.io("create the staging directory", staging) }
    self.staging = staging
    cleanup = InterruptCleanup.shared.register { try? removeTree(staging) }
    let root = bagit ? staging + "/data" : staging
    if bagit, mkdir(root, 0o755) != 0 { throw SystemError.io("create", root) }
    handler = ExtractingHandler(root: root, writer: DiskWriter(restoreOwners: geteuid() == 0))
  }

  /// Finishes the tree: directory times, bag tags, the staging directory's mode.
  func seal(facts: SealFacts, manifest: SpoolFile?) throws {
    guard let staging, let handler else { return }
    try handler.writer.close()
    if let manifest { try BagTags.write(into: staging, facts: facts, manifest: manifest) }
    chmod(staging, 0o755 & ~Restore.currentUmask())
  }

  /// Moves the tree into place; true when it replaced earlier content (now deleted).
  func commit() throws -> Bool {
    guard let staging else { return false }
    defer { InterruptCleanup.shared.unregister(cleanup) }
    let replaced = try Restore.commit(staging: staging, target: path, state: state)
    self.staging = nil
    if let replaced { try removeTree(replaced) }
    return replaced != nil
  }

  func abort() {
    if let staging { try? removeTree(staging) }
    InterruptCleanup.shared.unregister(cleanup)
    staging = nil
  }
}

/// Writes entries under the staging root, never anywhere else.
final class ExtractingHandler: EntryHandler {
  let root: String
  let writer: DiskWriter

  init(root: String, writer: DiskWriter) {
    self.root = root
    self.writer = writer
  }

  func begin(_ entry: ArchiveEntry, path: String) throws {
    // Paths passed PathRules (relative, no "..") before they get here.
    entry.pathname = root + "/" + path
    if let link = entry.hardlink { entry.hardlink = root + "/" + link }
    try writer.writeHeader(entry)
  }

  func data(_ bytes: UnsafeRawBufferPointer) throws { try writer.writeData(bytes) }

  func end(_ entry: ArchiveEntry) throws { try writer.finishEntry(entry) }
}

/// Deletes a tree, first making its directories writable (a restored tree may hold
/// read-only directories). Symlinks are removed, never followed.
func removeTree(_ path: String) throws {
  var st = stat()
  guard lstat(path, &st) == 0 else { return }
  if st.st_mode & S_IFMT == S_IFDIR {
    chmod(path, 0o700)
    for child in try FileManager.default.contentsOfDirectory(atPath: path) {
      try removeTree(path + "/" + child)
    }
    guard rmdir(path) == 0 else { throw SystemError.io("remove", path) }
  } else {
    guard unlink(path) == 0 else { throw SystemError.io("remove", path) }
  }
}
