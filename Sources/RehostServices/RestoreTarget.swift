import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// The directory a restore fills. While the restore runs, a lock beside it
/// (`.NAME.rehost-lock`) keeps any other restore of it out. The checked tree takes its
/// place in one of two ways (``Placement``):
///
/// - **whole**: a new directory, or an empty one that is not a mount point. The tree is
///   staged beside it (`.NAME.rehost-staging-<pid>-<random>`) and one rename puts it in
///   place: the target is absent (or empty) or complete, never between.
/// - **by entry**: a mount point (a new disk at `/srv/ca`: it cannot be renamed, and the
///   parent is another filesystem), or a non-empty target with `--force`. The tree is
///   staged inside the target (`DIR/.restore.rehost-staging-<pid>-<random>`, so on the
///   target's own filesystem) and each of its top-level entries (the archive's sources)
///   is swapped with the entry of that name, if any, one atomic exchange each. What the
///   archive does not hold (`www/` beside `ca/` in `/srv`) is never touched. Before the
///   first exchange a plan (each entry's inode) is written to the staging directory; a
///   run killed between exchanges leaves it, and the next restore of the target
///   finishes those exchanges first (the killed run had checked the whole tree).
///
/// Leftover staging directories (beside or inside the target) are removed first:
/// holding the lock, this run knows that whoever made them is dead.
final class RestoreTarget {
  static let stagingMarker = ".rehost-staging-"
  /// What staging directories inside the target are named beside (`.restore.rehost-staging-*`).
  static let insideName = "restore"
  static let planName = ".rehost-commit-plan"

  enum State { case absent, empty, nonEmpty }
  enum Placement { case whole, byEntry }

  let path: String
  private let name: String
  private let parentFD: Int32
  private var targetFD: Int32 = -1
  private let state: State
  let placement: Placement
  private let bagit: Bool
  private let allowSpecial: Bool
  private let restoreOwners: Bool
  private var lock: LockFile?
  private var staging: String?
  private var stagingFD: Int32 = -1
  private var work = 0
  private(set) var handler: ExtractingHandler?
  /// Where the replaced content stays when it could not all be deleted (immutable files).
  private(set) var leftOver: String?

  /// Checks everything the end of the restore needs (a target it may create or fill, on
  /// a filesystem it can stage on) and takes the lock; nothing is written yet.
  /// - Parameter sources: the top-level names the archive's seal announces, for messages.
  init(path given: String, force: Bool, bagit: Bool, allowSpecial: Bool, restoreOwners: Bool, sources: [String]) throws {
    path = URL(fileURLWithPath: given).standardizedFileURL.path
    name = URL(fileURLWithPath: path).lastPathComponent
    let parentGiven = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard path != "/", !name.isEmpty else { throw RehostError(.usage, "cannot restore into /", hint: "restore into a directory such as /srv/restore") }
    parentFD = open(parentGiven, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard parentFD >= 0 else {
      throw RehostError(.usage, "the parent of \(path) does not exist or cannot be opened", hint: "create \(parentGiven) first")
    }
    (self.bagit, self.allowSpecial, self.restoreOwners) = (bagit, allowSpecial, restoreOwners)
    lock = try LockFile(path: parentGiven + "/." + name + ".rehost-lock", purpose: "restoring into \(path)")
    let (state, names) = try Self.state(of: name, in: parentFD, shown: path)
    self.state = state
    let top = bagit ? ["data", "bagit.txt", "bag-info.txt", "manifest-sha256.txt"] : sources
    if state == .nonEmpty && !force {
      let replaced = top.filter { names.contains(Array($0.utf8)) }
      let kept = names.count - replaced.count
      throw RehostError(.refused, "\(path) is not empty",
                        hint: replaced.isEmpty
                          ? "restore into a new directory; or pass --force to add \(Self.list(top)) beside the \(kept) entries there, which are kept"
                          : "restore into a new directory; or pass --force to replace \(Self.list(replaced)) there with the archive's (the old ones are deleted once the new ones checked out)\(kept > 0 ? "; the other \(kept) entries are kept" : "")")
    }
    placement = state == .nonEmpty || (state == .empty && DirectoryTools.isMountRoot(parentFD, name)) ? .byEntry : .whole
    if state != .absent {
      targetFD = DirectoryTools.openDirectory(parentFD, name)
      guard targetFD >= 0 else { throw SystemError.io("open", path) }
    }
    if placement == .byEntry {
      for entry in top where DirectoryTools.isMountRoot(targetFD, entry) {
        throw RehostError(.refused, "\(path)/\(entry) is a mount point, which a restore cannot replace",
                          hint: "restore the archive elsewhere and copy \(entry)/ in, or restore with --to \(path)/\(entry)'s parent unmounted")
      }
    }
  }

  deinit {
    abort()
    close(parentFD)
    if targetFD >= 0 { close(targetFD) }
  }

  /// The directory staging happens in: the parent for a whole placement, the target itself otherwise.
  private var stagingParent: Int32 { placement == .whole ? parentFD : targetFD }
  private var stagingParentPath: String { placement == .whole ? parentPath : path }

  /// Removes (or, for an interrupted commit, finishes) what interrupted restores left,
  /// and creates the staging directory. Runs before anything is decrypted, so a target
  /// that cannot be written fails here.
  func prepare(_ notes: inout [String]) throws {
    for (dirfd, shown, prefix) in [(parentFD, parentPath, "." + name + Self.stagingMarker)] + (targetFD >= 0 ? [(targetFD, path, "." + Self.insideName + Self.stagingMarker)] : []) {
      for leftover in try DirectoryTools.names(in: dirfd) where leftover.starts(with: Array(prefix.utf8)) {
        if dirfd == targetFD, let finished = finishInterruptedCommit(leftover) {
          notes.append("finished placing \(finished) entries of a restore that was killed while putting them in place")
        }
        if DirectoryTools.removeTree(dirfd, leftover) { notes.append("removed \(shown)/\(TextEscape.escape(leftover)), left by an interrupted restore") }
      }
    }
    let staging = RunLeftovers.name(beside: placement == .whole ? name : Self.insideName, marker: Self.stagingMarker)
    guard staging.withCString({ mkdirat(stagingParent, $0, 0o700) }) == 0 else {
      let why = String(cString: strerror(errno))
      throw RehostError(.failure, "cannot create a staging directory in \(stagingParentPath): \(why)",
                        hint: "nothing was decrypted; restore as a user who may write there, or into a writable directory")
    }
    self.staging = staging
    work = Interruption.shared.register()
    stagingFD = staging.withCString { DirectoryTools.openDirectory(stagingParent, $0) }
    guard stagingFD >= 0 else { throw SystemError.io("open the staging directory in", stagingParentPath) }
    var root = dup(stagingFD)
    if bagit {
      guard mkdirat(stagingFD, "data", 0o755) == 0 else { throw SystemError.io("create data/ in the staging directory of", path) }
      close(root)
      root = DirectoryTools.openDirectory(stagingFD, "data")
    }
    handler = ExtractingHandler(writer: try TreeWriter(root: root, restoreOwners: restoreOwners), allowSpecial: allowSpecial)
  }

  /// Finishes the tree (directories' metadata, everything flushed to disk), the bag's
  /// tags, and the staging directory's own mode.
  func seal(facts: SealFacts, manifest: SpoolFile?) throws {
    guard let staging, let handler else { return }
    try handler.writer.finish()
    if let manifest { try BagTags.write(into: stagingParentPath + "/" + staging, facts: facts, manifest: manifest) }
    fchmod(stagingFD, 0o755 & ~Self.currentUmask())
  }

  private var parentPath: String { URL(fileURLWithPath: path).deletingLastPathComponent().path }

  /// What a commit did: the target's entries replaced (by name), and whether the whole
  /// target's earlier content was.
  struct Committed {
    var replaced: [String] = []
    var kept = 0
  }

  /// Moves the tree into place. A signal that arrives meanwhile waits for it: the work
  /// stays registered and nothing here checks for interruption.
  func commit() throws -> Committed {
    guard let staging else { return Committed() }
    var done = Committed()
    switch placement {
    case .whole:
      // Absent: a rename that fails if something appeared meanwhile; empty: rename(2)
      // replaces an empty directory atomically.
      guard DirectoryTools.rename(staging, to: name, in: parentFD, state == .absent ? .noReplace : .replaceEmpty) else {
        throw SystemError.io("move the restored tree to", path)
      }
      fsync(parentFD)
    case .byEntry:
      let entries = try DirectoryTools.names(in: stagingFD)
      let existing = Set(try DirectoryTools.names(in: targetFD))
      try writePlan(entries)
      for entry in entries {
        let replacing = existing.contains(entry)
        guard DirectoryTools.move(entry, from: stagingFD, into: targetFD, exchanging: replacing) else {
          throw SystemError.io("move \(TextEscape.escape(entry)) into", path)
        }
        if replacing { done.replaced.append(TextEscape.escape(entry)) }
      }
      fsync(targetFD)
      done.kept = existing.count - done.replaced.count - 1  // less the staging directory
    }
    Interruption.shared.unregister(work)
    self.staging = nil
    // The replaced content now sits at the staging name; a run killed while deleting it
    // leaves it as a dead run's staging directory, removed by the next restore.
    if placement == .byEntry && !DirectoryTools.removeTree(stagingParent, Array(staging.utf8)) {
      leftOver = stagingParentPath + "/" + staging
    }
    return done
  }

  func abort() {
    if let staging { DirectoryTools.removeTree(stagingParent, Array(staging.utf8)) }
    staging = nil
    if stagingFD >= 0 { close(stagingFD); stagingFD = -1 }
    Interruption.shared.unregister(work)
    lock?.release()
    lock = nil
  }

  // MARK: The by-entry commit's plan

  /// One line per entry: its inode and its name in hex, so that a later run can tell,
  /// for each, whether it was already moved in.
  private func writePlan(_ entries: [[UInt8]]) throws {
    var text = ""
    for entry in entries {
      var st = stat()
      guard fstatat(stagingFD, entry.map { CChar(bitPattern: $0) } + [0], &st, AT_SYMLINK_NOFOLLOW) == 0 else {
        throw SystemError.io("inspect the staged", TextEscape.escape(entry))
      }
      text += "\(st.st_ino) \(Hex.encode(entry))\n"
    }
    let fd = openat(stagingFD, Self.planName, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SystemError.io("write the commit plan in the staging directory of", path) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0, fsync(stagingFD) == 0 else {
      throw SystemError.io("write the commit plan in the staging directory of", path)
    }
  }

  /// Finishes the moves a killed run had planned; nil when `leftover` holds no plan.
  private func finishInterruptedCommit(_ leftover: [UInt8]) -> Int? {
    let fd = DirectoryTools.openDirectory(targetFD, leftover.map { CChar(bitPattern: $0) } + [0])
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    let planFD = openat(fd, Self.planName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
    guard planFD >= 0 else { return nil }
    var bytes = [UInt8](repeating: 0, count: 1 << 20)
    let count = read(planFD, &bytes, bytes.count)
    close(planFD)
    guard count > 0 else { return nil }
    var finished = 0
    for line in String(decoding: bytes[..<count], as: UTF8.self).split(separator: "\n") {
      let parts = line.split(separator: " ")
      guard parts.count == 2, let inode = UInt(parts[0]), let entry = Hex.decode(String(parts[1])), !entry.isEmpty else { continue }
      let cname = entry.map { CChar(bitPattern: $0) } + [0]
      var inTarget = stat(), staged = stat()
      let present = fstatat(targetFD, cname, &inTarget, AT_SYMLINK_NOFOLLOW) == 0
      if present && UInt(inTarget.st_ino) == inode { continue }
      guard fstatat(fd, cname, &staged, AT_SYMLINK_NOFOLLOW) == 0, UInt(staged.st_ino) == inode else { continue }
      if DirectoryTools.move(entry, from: fd, into: targetFD, exchanging: present) { finished += 1 }
    }
    fsync(targetFD)
    return finished
  }

  // MARK: Helpers

  static func state(of name: String, in parent: Int32, shown: String) throws -> (State, [[UInt8]]) {
    var st = stat()
    if fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
      if errno == ENOENT { return (.absent, []) }
      throw SystemError.io("inspect", shown)
    }
    guard st.st_mode & S_IFMT == S_IFDIR else {
      throw RehostError(.refused, "\(shown) exists and is not a directory", hint: "restore into a directory")
    }
    let fd = DirectoryTools.openDirectory(parent, name)
    guard fd >= 0 else { throw SystemError.io("open", shown) }
    defer { close(fd) }
    // What an interrupted restore left inside is not content (prepare removes it).
    let leftover = Array(("." + insideName + stagingMarker).utf8)
    let names = try DirectoryTools.names(in: fd).filter { !$0.starts(with: leftover) }
    return (names.isEmpty ? .empty : .nonEmpty, names)
  }

  static func list(_ names: [String]) -> String {
    let shown = names.prefix(5).map { "\($0)/" }.joined(separator: ", ")
    return names.count > 5 ? shown + " and \(names.count - 5) more" : shown
  }

  static func currentUmask() -> mode_t {
    let mask = umask(0o022)
    umask(mask)
    return mask
  }
}
