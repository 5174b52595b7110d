import Foundation
import RehostBase
import RehostFormat
import RehostStorage

/// The directory a restore fills. While the restore runs, a lock beside it
/// (`.NAME.rehost-lock`) keeps any other restore of it out; a staging directory beside
/// it (`.NAME.rehost-staging-<pid>-<random>`) receives the tree, which replaces the
/// target in one rename once everything checked out. Staging directories found beside
/// the target are removed first: holding the lock, this run knows that whoever made
/// them is dead, so the staging directory needs no lock of its own.
final class RestoreTarget {
  static let stagingMarker = ".rehost-staging-"

  enum State { case absent, empty, nonEmpty }

  let path: String
  private let name: String
  private let parentFD: Int32
  private let state: State
  private let bagit: Bool
  private var lock: LockFile?
  private var staging: String?
  private var stagingFD: Int32 = -1
  private var work = 0
  private(set) var handler: ExtractingHandler?
  /// Where the replaced content stays when it could not all be deleted (immutable files).
  private(set) var leftOver: String?

  init(path given: String, force: Bool, bagit: Bool, allowSpecial: Bool) throws {
    path = URL(fileURLWithPath: given).standardizedFileURL.path
    name = URL(fileURLWithPath: path).lastPathComponent
    let parentGiven = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard path != "/", !name.isEmpty else { throw RehostError(.usage, "cannot restore into /", hint: "restore into a directory such as /srv/restore") }
    parentFD = open(parentGiven, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard parentFD >= 0 else {
      throw RehostError(.usage, "the parent of \(path) does not exist or cannot be opened", hint: "create \(parentGiven) first")
    }
    self.bagit = bagit
    self.allowSpecial = allowSpecial
    lock = try LockFile(path: parentGiven + "/." + name + ".rehost-lock", purpose: "restoring into \(path)")
    state = try Self.state(of: name, in: parentFD, shown: path)
    if state == .nonEmpty && !force {
      throw RehostError(.refused, "\(path) is not empty",
                        hint: "restore into a new directory, or pass --force to replace it (the old content is removed only after the new content checked out)")
    }
  }

  private let allowSpecial: Bool

  deinit {
    abort()
    close(parentFD)
  }

  /// Removes what interrupted restores left, and creates the staging directory.
  func prepare(_ notes: inout [String]) throws {
    let prefix = Array(("." + name + Self.stagingMarker).utf8)
    for leftover in try DirectoryTools.names(in: parentFD) where leftover.starts(with: prefix) {
      if DirectoryTools.removeTree(parentFD, leftover) { notes.append("removed \(parentPath)/\(TextEscape.escape(leftover)), left by an interrupted restore") }
    }
    let staging = RunLeftovers.name(beside: name, marker: Self.stagingMarker)
    guard staging.withCString({ mkdirat(parentFD, $0, 0o700) }) == 0 else { throw SystemError.io("create the staging directory beside", path) }
    self.staging = staging
    work = Interruption.shared.register()
    stagingFD = staging.withCString { DirectoryTools.openDirectory(parentFD, $0) }
    guard stagingFD >= 0 else { throw SystemError.io("open the staging directory beside", path) }
    var root = dup(stagingFD)
    if bagit {
      guard mkdirat(stagingFD, "data", 0o755) == 0 else { throw SystemError.io("create data/ in the staging directory of", path) }
      close(root)
      root = DirectoryTools.openDirectory(stagingFD, "data")
    }
    handler = ExtractingHandler(writer: try TreeWriter(root: root, restoreOwners: geteuid() == 0), allowSpecial: allowSpecial)
  }

  /// Finishes the tree (directories' metadata, everything flushed to disk), the bag's
  /// tags, and the staging directory's own mode.
  func seal(facts: SealFacts, manifest: SpoolFile?) throws {
    guard let staging, let handler else { return }
    try handler.writer.finish()
    if let manifest { try BagTags.write(into: parentPath + "/" + staging, facts: facts, manifest: manifest) }
    fchmod(stagingFD, 0o755 & ~Self.currentUmask())
  }

  private var parentPath: String { URL(fileURLWithPath: path).deletingLastPathComponent().path }

  /// Moves the tree into place; true when it replaced earlier content (now deleted).
  func commit() throws -> Bool {
    guard let staging else { return false }
    // An absent target: a rename that fails if something appeared meanwhile; an empty
    // one: rename(2) replaces an empty directory atomically; a non-empty one (--force):
    // one atomic swap, so the target holds either the old tree or the new, never a mix.
    let moved = DirectoryTools.rename(staging, to: name, in: parentFD,
                                      state == .absent ? .noReplace : state == .empty ? .replaceEmpty : .exchange)
    guard moved else { throw SystemError.io("move the restored tree to", path) }
    fsync(parentFD)
    Interruption.shared.unregister(work)
    self.staging = nil
    if state == .nonEmpty {
      // The old tree now sits at the staging name; a run killed while deleting it leaves
      // it as a dead run's staging directory, removed by the next restore.
      guard DirectoryTools.removeTree(parentFD, Array(staging.utf8)) else {
        leftOver = parentPath + "/" + staging
        return true
      }
    }
    return state == .nonEmpty
  }

  func abort() {
    if let staging { DirectoryTools.removeTree(parentFD, Array(staging.utf8)) }
    staging = nil
    if stagingFD >= 0 { close(stagingFD); stagingFD = -1 }
    Interruption.shared.unregister(work)
    lock?.release()
    lock = nil
  }

  static func state(of name: String, in parent: Int32, shown: String) throws -> State {
    var st = stat()
    if fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
      if errno == ENOENT { return .absent }
      throw SystemError.io("inspect", shown)
    }
    guard st.st_mode & S_IFMT == S_IFDIR else {
      throw RehostError(.refused, "\(shown) exists and is not a directory", hint: "restore into a directory")
    }
    let fd = DirectoryTools.openDirectory(parent, name)
    guard fd >= 0 else { throw SystemError.io("open", shown) }
    defer { close(fd) }
    return try DirectoryTools.names(in: fd).isEmpty ? .empty : .nonEmpty
  }

  static func currentUmask() -> mode_t {
    let mask = umask(0o022)
    umask(mask)
    return mask
  }
}

/// Writes entries into the staging tree through ``TreeWriter``, never anywhere else.
/// Special entries (``CheckedEntry/special``) are written only when allowed; the first
/// one that is not stops all writing, and the walk goes on only to check the archive and
/// name every special entry in the refusal.
final class ExtractingHandler: EntryHandler {
  let writer: TreeWriter
  let allowSpecial: Bool
  private(set) var refused: [(path: ArchivePath, why: String)] = []
  private var inFile = false
  /// Entries whose owner differs from the restorer's (owners are only set as root).
  private(set) var foreignOwners = 0

  init(writer: TreeWriter, allowSpecial: Bool) {
    self.writer = writer
    self.allowSpecial = allowSpecial
  }

  func begin(_ checked: CheckedEntry) throws {
    inFile = false
    if let why = checked.special, !allowSpecial { refused.append((checked.path, why)) }
    guard refused.isEmpty else { return }
    let entry = checked.entry
    let metadata = TreeWriter.Metadata(
      permissions: entry.permissions, uid: UInt32(entry.uid), gid: UInt32(entry.gid),
      mtimeSeconds: entry.mtimeSeconds, mtimeNanoseconds: entry.mtimeNanoseconds, xattrs: entry.xattrs)
    if checked.kind != .hardlink, entry.uid != Int(geteuid()) || entry.gid != Int(getegid()) { foreignOwners += 1 }
    switch checked.kind {
    case .directory: try writer.makeDirectory(checked.path, metadata)
    case .file:
      try writer.beginFile(checked.path, metadata, size: entry.size)
      inFile = true
    case .symlink: try writer.makeSymlink(checked.path, target: entry.symlinkTarget ?? [], metadata)
    case .hardlink: try writer.makeHardlink(checked.path, to: entry.hardlinkPath!)
    case .fifo: try writer.makeNode(checked.path, .fifo, metadata)
    case .chardev: try writer.makeNode(checked.path, .characterDevice(major: entry.device.major, minor: entry.device.minor), metadata)
    case .blockdev: try writer.makeNode(checked.path, .blockDevice(major: entry.device.major, minor: entry.device.minor), metadata)
    }
  }

  func data(_ bytes: UnsafeRawBufferPointer) throws {
    if inFile { try writer.write(bytes) }
  }

  func end(_ checked: CheckedEntry) throws {
    if inFile { try writer.endFile() }
    inFile = false
  }
}
