import Foundation
import RehostBase
import RehostFormat
import RehostStorage

/// Writes entries into the staging tree through ``TreeWriter``, never anywhere else.
/// Special entries (``CheckedEntry/special``) are written only when allowed; the first
/// one that is not stops all writing, and the walk goes on only to check the archive and
/// name every special entry in the refusal.
final class ExtractingHandler: EntryHandler {
  let writer: TreeWriter
  let allowSpecial: Bool
  private(set) var refused: [(path: ArchivePath, why: String)] = []
  private var inFile = false
  /// Entries whose owner differs from the restorer's, by `uid:gid` as archived (owners
  /// are only set as root): what a restore by another user could not keep.
  private(set) var foreignOwners: [String: Int] = [:]
  /// What was written into the tree (database dumps go to their servers, not here).
  private(set) var written = ManifestTotals()

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
    if checked.kind != .hardlink, entry.uid != Int(geteuid()) || entry.gid != Int(getegid()) {
      let owner = "\(entry.uid):\(entry.gid)"
      if foreignOwners.count < 1000 || foreignOwners[owner] != nil { foreignOwners[owner, default: 0] += 1 }
    }
    written.add(kind: checked.kind, size: entry.size)
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
