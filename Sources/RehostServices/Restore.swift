import CPosix
import Foundation
import RehostBase
import RehostFormat
import RehostStorage

/// Where and how to restore.
public struct RestoreOptions {
  public var archive: String
  public var sealPath: String?
  /// The directory to create (or, with `force`, replace); each source lands in DIR/<name>.
  public var target: String
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

  public init(archive: String, target: String, policy: TrustPolicy, identities: [Identity]) {
    self.archive = archive
    self.target = target
    self.policy = policy
    self.identities = identities
  }
}

public struct RestoreReport: Sendable {
  public let target: String
  public let facts: SealFacts
  public let signatures: [SignatureCheck]
  public let payload: PayloadSummary
  /// Things done on the side (leftovers of an interrupted restore removed, ...).
  public let notes: [String]
}

/// Restores an archive: seal checked first, then everything extracted into a staging
/// directory beside the target while each entry is checked against the manifest, and
/// moved into place only when all of it, and the archive's hash, checked out.
public enum Restore {
  public static func run(_ options: RestoreOptions, progress: ProgressObserver? = nil) throws -> RestoreReport {
    let target = URL(fileURLWithPath: options.target).standardizedFileURL.path
    let name = URL(fileURLWithPath: target).lastPathComponent
    let parentGiven = URL(fileURLWithPath: target).deletingLastPathComponent().path
    guard let parentResolved = realpath(parentGiven, nil) else {
      throw RehostError(.usage, "the parent of \(target) does not exist", hint: "create \(parentGiven) first")
    }
    let parent = String(cString: parentResolved)
    free(parentResolved)
    let targetState = try state(of: target)
    if targetState == .nonEmpty && !options.force {
      throw RehostError(.refused, "\(target) is not empty",
                        hint: "restore into a new directory, or pass --force to replace it (the old content is removed only after the new content checked out)")
    }

    let seal = try SealCheck.load(archive: options.archive, sealPath: options.sealPath)
    let signatures = try SealCheck.check(seal, policy: options.policy, expectedBags: options.expectedBags)
    let facts = try SealFacts(fields: seal.statement)
    let reader = try ArchiveFileReader(path: options.archive)
    try Verify.checkRecipients(reader.header, facts)
    let tar = try reader.openPayload(with: options.identities, shareFiles: options.shareFiles)

    var notes = removeLeftovers(in: parent, name: name)
    let staging = parent + "/." + name + ".rehost-staging-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    guard mkdir(staging, 0o700) == 0 else { throw SystemError.io("create the staging directory", staging) }
    let cleanup = InterruptCleanup.shared.register { try? removeTree(staging) }
    defer { InterruptCleanup.shared.unregister(cleanup) }
    do {
      let root = options.bagit ? staging + "/data" : staging
      if options.bagit, mkdir(root, 0o755) != 0 { throw SystemError.io("create", root) }
      let manifest = options.bagit ? try SpoolFile() : nil
      let handler = ExtractingHandler(root: root, writer: DiskWriter(restoreOwners: geteuid() == 0))
      let payload = try PayloadWalker(tar: tar, progress: progress, manifestCopy: manifest).run(handler)
      try reader.finish(against: facts, payload: payload)
      try handler.writer.close()
      if let manifest { try BagTags.write(into: staging, facts: facts, manifest: manifest) }
      chmod(staging, 0o755 & ~currentUmask())
      if let replaced = try commit(staging: staging, target: target, state: targetState) {
        notes.append("the previous content of \(target) was replaced")
        try removeTree(replaced)
      }
      return RestoreReport(target: target, facts: facts, signatures: signatures, payload: payload, notes: notes)
    } catch {
      try? removeTree(staging)
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
