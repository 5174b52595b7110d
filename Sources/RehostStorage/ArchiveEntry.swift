import CArchive
import CPosix
import Glibc
import RehostBase

/// libarchive converts pax names through the C library's locale, and under a UTF-8
/// locale normalizes them (a decomposed name would come back composed). Under the C
/// locale it leaves them alone: names are bytes, written with `hdrcharset=BINARY` when
/// they are not ASCII and read back exactly as stored. Set once per process.
let byteNames: Void = rehost_use_c_ctype()

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
    _ = byteNames
    raw = archive_entry_new()
    owned = true
  }

  init(borrowing raw: OpaquePointer) {
    self.raw = raw
    owned = false
  }

  deinit { if owned { archive_entry_free(raw) } }

  /// Empties the entry for reuse.
  public func clear() { archive_entry_clear(raw) }

  /// The path for messages (escaped: names are bytes).
  public var shownPath: String { path.map(\.description) ?? "?" }

  /// The path as the bytes the tar stream holds (nil when the entry has none).
  public var path: ArchivePath? {
    get { archive_entry_pathname(raw).map { ArchivePath(bytes: Self.bytes($0)) } }
    set { if let newValue { newValue.bytes.withCString { archive_entry_copy_pathname(raw, $0) } } }
  }

  /// The hard link's target path, as bytes.
  public var hardlinkPath: ArchivePath? {
    get { archive_entry_hardlink(raw).map { ArchivePath(bytes: Self.bytes($0)) } }
    set { if let newValue { newValue.bytes.withCString { archive_entry_copy_hardlink(raw, $0) } } }
  }

  /// The symlink's target, as bytes.
  public var symlinkTarget: [UInt8]? {
    get { archive_entry_symlink(raw).map(Self.bytes) }
    set { if let newValue { newValue.withCString { archive_entry_copy_symlink(raw, $0) } } }
  }

  /// Whether a name field is present but could not be turned into bytes (libarchive
  /// keeps a UTF-8 form it cannot convert: a pax name that is not UTF-8 without
  /// hdrcharset=BINARY).
  public var hasUnreadableNames: Bool {
    (archive_entry_pathname(raw) == nil && archive_entry_pathname_utf8(raw) != nil)
      || (archive_entry_hardlink(raw) == nil && archive_entry_hardlink_utf8(raw) != nil)
      || (archive_entry_symlink(raw) == nil && archive_entry_symlink_utf8(raw) != nil)
  }

  /// Whether the owner names, if any, are UTF-8 text.
  public var userNameIsText: Bool {
    archive_entry_uname(raw).map { String(validatingCString: $0) != nil } ?? (archive_entry_uname_utf8(raw) == nil)
  }

  public var groupNameIsText: Bool {
    archive_entry_gname(raw).map { String(validatingCString: $0) != nil } ?? (archive_entry_gname_utf8(raw) == nil)
  }

  /// Device numbers (character and block devices).
  public var device: (major: UInt32, minor: UInt32) {
    get { (UInt32(archive_entry_rdevmajor(raw)), UInt32(archive_entry_rdevminor(raw))) }
    set {
      archive_entry_set_rdevmajor(raw, dev_t(newValue.major))
      archive_entry_set_rdevminor(raw, dev_t(newValue.minor))
    }
  }

  /// Extended attributes (ACLs among them, as their `system.posix_acl_*` attributes).
  public var xattrs: [ExtendedAttribute] {
    var out: [ExtendedAttribute] = []
    archive_entry_xattr_reset(raw)
    var name: UnsafePointer<CChar>?
    var value: UnsafeRawPointer?
    var size = 0
    while archive_entry_xattr_next(raw, &name, &value, &size) == ARCHIVE_OK {
      guard let name else { continue }
      out.append(ExtendedAttribute(name: Self.bytes(name), value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []))
    }
    return out
  }

  public func addXattr(_ xattr: ExtendedAttribute) {
    xattr.name.withCString { name in
      xattr.value.withUnsafeBytes { archive_entry_xattr_add_entry(raw, name, $0.baseAddress, $0.count) }
    }
  }

  /// Sparse regions the header declares (rehost never writes any).
  public var sparseRegionCount: Int { Int(archive_entry_sparse_count(raw)) }

  /// Sets the metadata every entry carries.
  public func set(type: mode_t, permissions: UInt32, uid: UInt32, gid: UInt32, user: String, group: String,
                  mtimeSeconds: Int64, mtimeNanoseconds: Int, size: Int64) {
    archive_entry_set_filetype(raw, UInt32(type))
    archive_entry_set_perm(raw, mode_t(permissions))
    archive_entry_set_uid(raw, la_int64_t(uid))
    archive_entry_set_gid(raw, la_int64_t(gid))
    if !user.isEmpty { archive_entry_copy_uname(raw, user) }
    if !group.isEmpty { archive_entry_copy_gname(raw, group) }
    archive_entry_set_mtime(raw, time_t(mtimeSeconds), mtimeNanoseconds)
    archive_entry_set_size(raw, size)
  }

  private static func bytes(_ p: UnsafePointer<CChar>) -> [UInt8] {
    Array(UnsafeBufferPointer(start: p, count: strlen(p))).map { UInt8(bitPattern: $0) }
  }

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

/// An extended attribute: its full name (`user.x`, `security.capability`,
/// `system.posix_acl_access`, ...) and value.
public struct ExtendedAttribute: Equatable, Sendable {
  public let name: [UInt8]
  public let value: [UInt8]
  public init(name: [UInt8], value: [UInt8]) {
    self.name = name
    self.value = value
  }
}
