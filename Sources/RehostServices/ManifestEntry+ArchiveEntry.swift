import RehostBase
import RehostFormat
import RehostStorage

extension ManifestEntry {
  /// The manifest's account of a tar entry. Snapshot (from the entry it writes) and every
  /// reader (from the entry it reads) build lines this way, so the same entry always
  /// gives the same bytes.
  init(_ entry: ArchiveEntry, path: ArchivePath, kind: Kind, sha256: String?) {
    self.init(
      path: path, type: kind, size: kind == .file ? entry.size : 0, mode: entry.permissions,
      uid: entry.uid, gid: entry.gid, user: entry.userName, group: entry.groupName,
      mtimeSeconds: entry.mtimeSeconds, mtimeNanoseconds: entry.mtimeNanoseconds,
      device: kind == .chardev || kind == .blockdev ? entry.device : nil, sha256: sha256,
      target: kind == .symlink ? entry.symlinkTarget : nil, link: kind == .hardlink ? entry.hardlinkPath : nil)
  }
}
