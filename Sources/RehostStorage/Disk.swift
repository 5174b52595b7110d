import CArchive
import Glibc
import RehostBase

/// Walks a directory tree (libarchive's disk reader): metadata, xattrs and ACLs,
/// symlinks not followed below the root, user and group names looked up.
public final class DiskWalker {
  private let disk: OpaquePointer
  private let match: OpaquePointer
  private let entry = ArchiveEntry()
  public let root: String
  /// Non-fatal problems met (an xattr that could not be read, ...).
  public private(set) var warnings: [String] = []

  /// - Parameter excludes: tar-style glob patterns matched against the walked paths.
  public init(root: String, excludes: [String]) throws {
    self.root = root
    disk = archive_read_disk_new()
    match = archive_match_new()
    archive_read_disk_set_standard_lookup(disk)
    // Follow the root if it is a symlink, never symlinks found inside it.
    archive_read_disk_set_symlink_hybrid(disk)
    // No sparse maps: we copy every byte ourselves (holes read as zeros and compress to
    // almost nothing); a sparse map would make the pax writer expect only the data runs.
    archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_SPARSE)
    for pattern in excludes where archive_match_exclude_pattern(match, pattern) != ARCHIVE_OK {
      throw RehostError(.usage, "invalid --exclude pattern '\(pattern)': \(archiveMessage(match))")
    }
    if archive_read_disk_open(disk, root) != ARCHIVE_OK {
      throw RehostError(.usage, "cannot read \(root): \(archiveMessage(disk))", hint: "check the path and permissions")
    }
  }

  deinit {
    archive_read_free(disk)
    archive_match_free(match)
  }

  /// The next entry (owned by the walker: valid until the next call), or nil at the end.
  public func next() throws -> ArchiveEntry? {
    while true {
      archive_entry_clear(entry.raw)
      let result = archive_read_next_header2(disk, entry.raw)
      switch result {
      case ARCHIVE_EOF: return nil
      case ARCHIVE_OK: break
      case ARCHIVE_WARN: warnings.append(archiveMessage(disk))
      default:
        throw RehostError(.failure, "cannot read \(entry.sourcePath ?? root): \(archiveMessage(disk))",
                          hint: "every file must be readable for a complete snapshot; fix permissions or --exclude it")
      }
      if archive_match_path_excluded(match, entry.raw) != 0 { continue }
      if entry.fileType == .directory {
        if archive_read_disk_descend(disk) != ARCHIVE_OK {
          throw RehostError(.failure, "cannot enter \(entry.sourcePath ?? "?"): \(archiveMessage(disk))")
        }
      }
      return entry
    }
  }
}

/// Extracts entries to disk (libarchive's disk writer).
///
/// Its symlink check (SECURE_SYMLINKS) is off: it opens every component of every path,
/// ten system calls per file. Callers restore into a fresh directory and enforce the
/// equivalent rules on the archive's own entries (RehostServices' PathRules).
public final class DiskWriter {
  private let disk: OpaquePointer

  /// - Parameter restoreOwners: set owners from the archive (only meaningful as root).
  public init(restoreOwners: Bool) {
    disk = archive_write_disk_new()
    var flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR
      | ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_SECURE_NODOTDOT
      | ARCHIVE_EXTRACT_NO_OVERWRITE
    if restoreOwners { flags |= ARCHIVE_EXTRACT_OWNER }
    archive_write_disk_set_options(disk, flags)
    archive_write_disk_set_standard_lookup(disk)
  }

  deinit { archive_write_free(disk) }

  public func writeHeader(_ entry: ArchiveEntry) throws {
    let result = archive_write_header(disk, entry.raw)
    if result != ARCHIVE_OK { throw error("create", entry) }
  }

  public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
      let n = archive_write_data(disk, bytes.baseAddress! + offset, bytes.count - offset)
      if n < 0 { throw RehostError(.failure, "cannot write restored data: \(archiveMessage(disk))") }
      offset += n
    }
  }

  public func finishEntry(_ entry: ArchiveEntry) throws {
    if archive_write_finish_entry(disk) != ARCHIVE_OK { throw error("finish", entry) }
  }

  /// Applies deferred directory permissions and times.
  public func close() throws {
    if archive_write_close(disk) != ARCHIVE_OK {
      throw RehostError(.failure, "cannot set restored directories' metadata: \(archiveMessage(disk))")
    }
  }

  private func error(_ what: String, _ entry: ArchiveEntry) -> RehostError {
    let message = archiveMessage(disk)
    if archive_errno(disk) == ENOSPC {
      return RehostError(.failure, "cannot \(what) \(entry.pathname ?? "?"): \(message)",
                         hint: "free space on the target filesystem; nothing was moved into place")
    }
    return RehostError(.failure, "cannot \(what) \(entry.pathname ?? "?"): \(message)")
  }
}
