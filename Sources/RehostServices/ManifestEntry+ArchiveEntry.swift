import RehostFormat
import RehostStorage

extension ManifestEntry {
  /// The manifest's account of a tar entry. Snapshot and restore both build entries
  /// this way, so that the same entry always gives the same manifest line.
  init(_ entry: ArchiveEntry, sha256: String?) {
    let kind: ManifestEntry.Kind
    if entry.hardlink != nil {
      kind = .hardlink
    } else {
      switch entry.fileType {
      case .directory: kind = .directory
      case .symlink: kind = .symlink
      case .fifo: kind = .fifo
      case .characterDevice: kind = .chardev
      case .blockDevice: kind = .blockdev
      default: kind = .file
      }
    }
    // libarchive's pax writer appends "/" to directory names; the manifest never has it.
    var path = entry.pathname ?? ""
    if kind == .directory && path.count > 1 && path.hasSuffix("/") { path.removeLast() }
    self.init(
      path: path, type: kind, size: kind == .file ? entry.size : 0, mode: entry.permissions,
      uid: entry.uid, gid: entry.gid, user: entry.userName, group: entry.groupName,
      mtimeSeconds: entry.mtimeSeconds, mtimeNanoseconds: entry.mtimeNanoseconds, sha256: sha256,
      target: kind == .symlink ? entry.symlink : nil, link: entry.hardlink)
  }
}
