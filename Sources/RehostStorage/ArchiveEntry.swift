import CArchive
import Glibc
import RehostBase

/// A libarchive entry (path, type, metadata) with a Swift face.
///
/// An entry either owns its `archive_entry` or borrows one that its reader owns;
/// a borrowed entry is valid only until the reader's next call.
public final class ArchiveEntry {
  public enum FileType: Sendable {
    case file, directory, symlink, fifo, characterDevice, blockDevice, socket, unknown
  }

  let raw: OpaquePointer
  private let owned: Bool

  /// A new, empty, owned entry.
  public init() {
    raw = archive_entry_new()
    owned = true
  }

  init(borrowing raw: OpaquePointer) {
    self.raw = raw
    owned = false
  }

  deinit { if owned { archive_entry_free(raw) } }

  /// The path, or nil when it is not valid UTF-8.
  public var pathname: String? {
    get { archive_entry_pathname(raw).flatMap { String(validatingCString: $0) } }
    set { archive_entry_copy_pathname(raw, newValue) }
  }

  /// Hard link target (another entry's path), if this entry is a hard link.
  public var hardlink: String? {
    get { archive_entry_hardlink(raw).flatMap { String(validatingCString: $0) } }
    set { archive_entry_copy_hardlink(raw, newValue) }
  }

  /// True when the hard link field is set but not valid UTF-8.
  public var hasUndecodableLink: Bool {
    (archive_entry_hardlink(raw) != nil && hardlink == nil) || (archive_entry_symlink(raw) != nil && symlink == nil)
  }

  public var symlink: String? { archive_entry_symlink(raw).flatMap { String(validatingCString: $0) } }

  /// Where a disk walker read this entry from.
  public var sourcePath: String? { archive_entry_sourcepath(raw).flatMap { String(validatingCString: $0) } }

  public var fileType: FileType {
    switch archive_entry_filetype(raw) & S_IFMT {
    case S_IFREG: return .file
    case S_IFDIR: return .directory
    case S_IFLNK: return .symlink
    case S_IFIFO: return .fifo
    case S_IFCHR: return .characterDevice
    case S_IFBLK: return .blockDevice
    case S_IFSOCK: return .socket
    default: return .unknown
    }
  }

  public var size: Int64 {
    get { archive_entry_size_is_set(raw) != 0 ? archive_entry_size(raw) : 0 }
    set { archive_entry_set_size(raw, newValue) }
  }

  public var permissions: UInt32 { UInt32(archive_entry_perm(raw)) }
  public var uid: Int { Int(archive_entry_uid(raw)) }
  public var gid: Int { Int(archive_entry_gid(raw)) }
  public var userName: String { archive_entry_uname(raw).map { String(cString: $0) } ?? "" }
  public var groupName: String { archive_entry_gname(raw).map { String(cString: $0) } ?? "" }
  public var mtimeSeconds: Int64 { Int64(archive_entry_mtime(raw)) }
  public var mtimeNanoseconds: Int { Int(archive_entry_mtime_nsec(raw)) }
  public var linkCount: Int { Int(archive_entry_nlink(raw)) }

  /// Drops the times we do not keep (access, change, birth), so archives carry only mtime.
  public func clearVolatileTimes() {
    archive_entry_unset_atime(raw)
    archive_entry_unset_ctime(raw)
    archive_entry_unset_birthtime(raw)
  }

  /// Updates size and times from a fresh `stat` of the open file.
  public func update(from st: stat) {
    archive_entry_set_size(raw, Int64(st.st_size))
    archive_entry_set_mtime(raw, st.st_mtim.tv_sec, Int(st.st_mtim.tv_nsec))
  }
}

/// Turns the second and later paths of a hard-linked file into hard-link entries
/// (pax style: the first path carries the content).
public final class HardLinkResolver {
  private let raw: OpaquePointer

  public init() {
    raw = archive_entry_linkresolver_new()
    archive_entry_linkresolver_set_strategy(raw, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE)
  }

  deinit { archive_entry_linkresolver_free(raw) }

  /// Rewrites `entry` into a hard link to an earlier path when it is one.
  public func resolve(_ entry: ArchiveEntry) {
    guard entry.fileType == .file, entry.linkCount > 1 else { return }
    var e: OpaquePointer? = entry.raw
    var spare: OpaquePointer?
    archive_entry_linkify(raw, &e, &spare)
    // With the pax strategy libarchive edits the entry in place and never hands back a spare.
    precondition(e == entry.raw && spare == nil, "unexpected hard link resolution")
  }
}

/// libarchive's last error message for `archive`.
func archiveMessage(_ archive: OpaquePointer) -> String {
  archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
}

extension ArchiveEntry {
  /// Makes this a regular file entry with the given size, permissions and mtime.
  public func setRegularFile(size: Int64, permissions: UInt32, mtime: Int64) {
    archive_entry_set_filetype(raw, UInt32(Glibc.S_IFREG))
    archive_entry_set_perm(raw, mode_t(permissions))
    archive_entry_set_size(raw, size)
    archive_entry_set_mtime(raw, time_t(mtime), 0)
  }
}

extension ArchiveEntry {
  /// Makes this a symbolic link to `target`.
  public func setSymlink(_ target: String, mtime: Int64) {
    archive_entry_set_filetype(raw, UInt32(Glibc.S_IFLNK))
    archive_entry_set_perm(raw, 0o777)
    archive_entry_copy_symlink(raw, target)
    archive_entry_set_mtime(raw, time_t(mtime), 0)
  }
}
