import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// An archive entry that passed ``EntryRules``: what it is, and why it needs
/// `--allow-special` if it does.
struct CheckedEntry {
  let path: ArchivePath
  let kind: ManifestEntry.Kind
  /// Set for device nodes, setuid/setgid files, world-writable files and directories
  /// (not sticky), and files with capabilities: what makes the entry special.
  let special: String?
  /// Set for the files of a database dump (`.rehost/databases/<name>/<file>`).
  let database: ManifestDatabase.FileName?
  /// The tar entry (borrowed from the reader: valid until the next entry).
  let entry: ArchiveEntry
}

/// The rules every entry of an archive must follow, whoever sealed it, checked as the
/// entries stream past (docs/FORMAT.md, "What a reader accepts"). Deep verify, restore,
/// manifest export and check apply the same rules, so they agree on what is valid.
///
/// - Names are clean relative paths: no leading `/`, no empty, `.` or `..` component,
///   components of at most 255 bytes. `.rehost/` holds the manifest and database dumps
///   only, and dumps come first.
/// - Entries come depth first: each one's parent is a directory entry made on the way to
///   it, and a directory's entries are not interrupted by entries outside it. Nothing is
///   therefore ever written "through" a symlink, whatever the symlinks say; symlinks are
///   data, restored as they are, never followed.
/// - No path appears twice. A hard link names an earlier regular file and carries no data.
/// - Files add up to no more than the seal's entry count and content bytes, checked
///   before each file's content is read, so a lying header cannot fill a disk.
///
/// Memory: 24 bytes or so per entry (a digest of each path seen, for duplicates and
/// hard-link targets) and the current directory chain.
final class EntryRules {
  /// The seal's `Entries` and `Content-Bytes`; nil when no seal is at hand (check).
  private var remainingEntries: Int?
  private var remainingBytes: Int64?
  private var seen: [PathDigest: ManifestEntry.Kind] = [:]
  private var directories: [ArchivePath] = []
  private var sawTreeEntry = false
  private var database: ManifestDatabase.FileName?
  private var databasesDone = Set<String>()

  init(entries: Int?, bytes: Int64?) {
    remainingEntries = entries
    remainingBytes = bytes
  }

  func check(_ entry: ArchiveEntry, posix: Bool) throws -> CheckedEntry {
    guard posix else { throw Self.refuse("an entry is not in a POSIX ustar or pax header (GNU and v7 tar are not used)") }
    guard !entry.hasUnreadableNames, var path = entry.path, !path.isEmpty else {
      throw Self.refuse("an entry has no name, or a pax name that is not UTF-8 without hdrcharset=BINARY")
    }
    let kind = try Self.kind(of: entry, path: path)
    if kind == .directory, path.bytes.last == UInt8(ascii: "/") { path = ArchivePath(bytes: path.bytes.dropLast()) }
    try Self.checkClean(path, what: "entry \(path)")
    if let remaining = remainingEntries {
      guard remaining > 0 else { throw Self.overSeal("the archive holds more entries than its seal's Entries") }
      remainingEntries = remaining - 1
    }

    var databaseFile: ManifestDatabase.FileName?
    if path.components.first.map({ $0.elementsEqual(Manifest.reservedTopLevelName.utf8) }) == true {
      databaseFile = try checkDatabaseFile(path, kind: kind)
    } else {
      try checkPlace(path)
    }
    let digest = PathDigest(path)
    guard seen.updateValue(kind, forKey: digest) == nil else { throw Self.refuse("\(path) is in the archive twice") }

    switch kind {
    case .hardlink:
      let target = entry.hardlinkPath!
      try Self.checkClean(target, what: "hard link \(path) -> \(target)")
      guard seen[PathDigest(target)] == .file else {
        throw Self.refuse("hard link \(path) -> \(target) does not name an earlier regular file of the archive")
      }
      guard entry.size == 0 else { throw Self.refuse("hard link \(path) carries \(entry.size) bytes of data") }
    case .symlink:
      guard let target = entry.symlinkTarget, !target.isEmpty, target.count < 4096 else {
        throw Self.refuse("symlink \(path) has an empty target or one longer than 4095 bytes")
      }
    case .file:
      guard entry.sparseRegionCount == 0 else { throw Self.refuse("\(path) is stored as a sparse file") }
      if let remaining = remainingBytes {
        guard entry.size <= remaining else {
          throw Self.overSeal("\(path) claims \(entry.size) bytes, more than is left of the seal's Content-Bytes (\(remaining))")
        }
        remainingBytes = remaining - entry.size
      }
    default:
      guard entry.size == 0 else { throw Self.refuse("\(path), a \(kind.rawValue), carries \(entry.size) bytes of data") }
    }
    guard entry.uid >= 0, entry.uid < Int(UInt32.max), entry.gid >= 0, entry.gid < Int(UInt32.max) else {
      throw Self.refuse("\(path) has an impossible owner (uid \(entry.uid), gid \(entry.gid))")
    }
    guard entry.userNameIsText, entry.groupNameIsText else { throw Self.refuse("\(path) has an owner name that is not UTF-8") }
    let xattrs = entry.xattrs
    if !xattrs.isEmpty {
      guard kind == .file || kind == .directory else { throw Self.refuse("\(path), a \(kind.rawValue), has extended attributes") }
      for xattr in xattrs where !Self.isAllowed(xattr, directory: kind == .directory) {
        throw Self.refuse("\(path) has an extended attribute rehost does not restore (\(TextEscape.escape(xattr.name.prefix(64))))")
      }
    }
    if kind == .directory && databaseFile == nil { directories.append(path) }
    return CheckedEntry(path: path, kind: kind, special: Self.special(entry, kind: kind, xattrs: xattrs),
                        database: databaseFile, entry: entry)
  }

  /// Each tree entry's parent is the directory most recently entered on the way to it.
  private func checkPlace(_ path: ArchivePath) throws {
    sawTreeEntry = true
    let parent = path.parent
    while let top = directories.last, !(parent.map { $0.isWithin(top) } ?? false) { directories.removeLast() }
    guard directories.last == parent else {
      throw Self.refuse("\(path) does not come right after its directory \(parent.map(\.description) ?? "") (entries go depth first, each directory before what it holds)")
    }
  }

  /// `.rehost/` holds database dumps (and the manifest, handled by the walker), first,
  /// each database's files together and in order.
  private func checkDatabaseFile(_ path: ArchivePath, kind: ManifestEntry.Kind) throws -> ManifestDatabase.FileName {
    guard let file = ManifestDatabase.fileName(path), kind == .file else {
      throw Self.refuse("\(path) uses the name .rehost, which is reserved for the manifest and database dumps")
    }
    guard !sawTreeEntry else { throw Self.refuse("database file \(path) comes after the archive's files (dumps come first)") }
    if let current = database, current.database == file.database {
      // After the roles file (part 0) comes the dump's part 1, of any method.
      guard file.part == current.part + 1, current.part == 0 ? file.file != "database.sqlite"
              : file.file.split(separator: ".").last == current.file.split(separator: ".").last else {
        throw Self.refuse("database file \(path) is out of order (after \(current.file))")
      }
    } else {
      if let current = database { databasesDone.insert(current.database) }
      guard file.part <= 1, !databasesDone.contains(file.database) else {
        throw Self.refuse("database file \(path) is out of order (each database's files come together: its roles, then from part 1)")
      }
    }
    database = file
    return file
  }

  static func kind(of entry: ArchiveEntry, path: ArchivePath) throws -> ManifestEntry.Kind {
    if entry.hardlinkPath != nil {
      // libarchive reports a pax hard link's type as the file's, or as none.
      guard entry.fileType == .file || entry.fileType == .unknown else { throw refuse("hard link \(path) is not a link to a file") }
      return .hardlink
    }
    switch entry.fileType {
    case .file: return .file
    case .directory: return .directory
    case .symlink: return .symlink
    case .fifo: return .fifo
    case .characterDevice: return .chardev
    case .blockDevice: return .blockdev
    case .socket, .unknown: throw refuse("\(path) is of a type rehost never archives (a socket or unknown)")
    }
  }

  static func checkClean(_ path: ArchivePath, what: String) throws {
    guard path.bytes.first != UInt8(ascii: "/") else { throw refuse("\(what) is an absolute path") }
    guard path.bytes.count <= Manifest.maxPathBytes else { throw refuse("\(what) is longer than \(Manifest.maxPathBytes) bytes") }
    for component in path.components {
      if component.elementsEqual("..".utf8) { throw refuse("\(what) climbs out with '..'") }
      if component.isEmpty || component.elementsEqual(".".utf8) { throw refuse("\(what) is not a clean relative path") }
      if component.count > 255 { throw refuse("\(what) has a name longer than 255 bytes") }
    }
  }

  /// What makes an entry worth an explicit `--allow-special` before it is restored.
  static func special(_ entry: ArchiveEntry, kind: ManifestEntry.Kind, xattrs: [ExtendedAttribute]) -> String? {
    let mode = entry.permissions
    let owner = "owner \(entry.userName.isEmpty ? "uid \(entry.uid)" : entry.userName)"
    switch kind {
    case .chardev, .blockdev:
      let (major, minor) = entry.device
      return "\(kind == .chardev ? "character" : "block") device \(major),\(minor), mode \(octal(mode))"
    case .file:
      if mode & 0o6000 != 0 { return "\(mode & 0o4000 != 0 ? "setuid" : "setgid") file, mode \(octal(mode)), \(owner)" }
      if xattrs.contains(where: { $0.name.elementsEqual("security.capability".utf8) }) { return "file with capabilities (security.capability), \(owner)" }
      if mode & 0o002 != 0 { return "world-writable file, mode \(octal(mode))" }
    case .directory:
      if mode & 0o002 != 0 && mode & 0o1000 == 0 { return "world-writable directory without the sticky bit, mode \(octal(mode))" }
    default: break
    }
    return nil
  }

  static func isAllowed(_ xattr: ExtendedAttribute, directory: Bool) -> Bool {
    let name = xattr.name
    guard !name.isEmpty, name.count <= 255, xattr.value.count <= 65536 else { return false }
    for prefix in ["user.", "trusted.", "security."] where name.starts(with: prefix.utf8) { return name.count > prefix.utf8.count }
    return name.elementsEqual("system.posix_acl_access".utf8) || (directory && name.elementsEqual("system.posix_acl_default".utf8))
  }

  static func octal(_ mode: UInt32) -> String { String(mode & 0o7777, radix: 8).leftPadded(to: 4) }

  static func refuse(_ why: String) -> RehostError {
    RehostError(.refused, "unsafe archive: \(why)",
                hint: "nothing was restored; an archive written by rehost never holds such an entry, so treat its source as hostile")
  }

  static func overSeal(_ why: String) -> RehostError {
    RehostError(.corrupt, "the archive does not match its seal: \(why)",
                hint: "the archive is not the one sealed, or its sealer lied; nothing more was read")
  }
}

/// A path's identity for sets of millions: the first 16 bytes of its SHA-256.
struct PathDigest: Hashable {
  let high: UInt64
  let low: UInt64

  init(_ path: ArchivePath) {
    let digest = SHA256.hash(path.bytes)
    var h: UInt64 = 0, l: UInt64 = 0
    for i in 0..<8 {
      h = h << 8 | UInt64(digest[i])
      l = l << 8 | UInt64(digest[8 + i])
    }
    high = h
    low = l
  }
}

extension String {
  func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
