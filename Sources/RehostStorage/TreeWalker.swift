import CPosix
import Glibc
import RehostBase

/// One thing ``TreeWalker`` found: its archive path and everything the archive keeps.
public struct WalkedEntry {
  public enum Kind: Sendable { case file, directory, symlink, fifo, characterDevice, blockDevice }

  public let path: ArchivePath
  /// The host path, escaped for messages.
  public let shown: String
  public let kind: Kind
  public let status: stat
  public let userName: String
  public let groupName: String
  /// Symlinks: the target, as stored on disk.
  public let symlinkTarget: [UInt8]?
  /// A regular file with several names: the archive path of the first one seen.
  public let hardlinkTo: ArchivePath?
  public let xattrs: [ExtendedAttribute]
  /// Regular files (not hard links): the open file, valid until the next call to `next()`.
  public let content: OpenFile?

  /// Character and block devices: their numbers.
  public var device: (major: UInt32, minor: UInt32) { (rehost_major(UInt64(status.st_rdev)), rehost_minor(UInt64(status.st_rdev))) }
}

/// Walks a directory tree depth first, in byte order of names, relative to directory
/// descriptors (``DirectoryStack``): every component is opened with O_NOFOLLOW from its
/// parent, so a symlink is never followed (it is recorded as one) and a tree deeper
/// than PATH_MAX is no problem. Names are bytes, stored as they are.
///
/// Each regular file is opened before it is described, and described from its open
/// descriptor: what is recorded is what is read. Sockets are skipped with a warning.
public final class TreeWalker {
  public let root: String
  /// What could not be captured as it is, each said once (all skipped sockets in one line).
  public var warnings: [String] {
    guard !skippedSockets.isEmpty else { return otherWarnings }
    let shown = skippedSockets.prefix(8).joined(separator: ", ") + (skippedSockets.count > 8 ? ", ..." : "")
    return otherWarnings + ["skipped \(skippedSockets.count == 1 ? "a socket" : "\(skippedSockets.count) sockets"), which are not archived "
      + "(a running program's endpoints, such as gpg-agent's in a GnuPG home; it makes them anew): \(shown)"]
  }
  private var otherWarnings: [String] = []
  private var skippedSockets: [String] = []

  private let stack: DirectoryStack
  /// For each level of the stack, the directory being walked.
  private var pending: [Level] = []
  /// A directory being walked: its names (sorted), the next one to visit, its archive and
  /// host paths, and the regular files of it already opened ahead of the walk (`readAhead`).
  private struct Level {
    let names: [[UInt8]]
    var next = 0
    let path: ArchivePath
    let hostPath: [UInt8]
    var ahead: [Int: OpenFile] = [:]
    var aheadCursor = 0
  }
  /// Files opened ahead and not yet visited (in all levels: a deep tree must not run out
  /// of descriptors), and the bytes asked to be read in for them.
  private var aheadOpen = 0, aheadBytes = 0
  static let aheadFiles = 32, aheadLimit = 16 << 20
  private let excludes: [[UInt8]]
  private var links: [FileID: ArchivePath] = [:]
  private var owners = OwnerNames()
  private var current: OpenFile?

  struct FileID: Hashable {
    let device: UInt64
    let inode: UInt64
  }

  /// - Parameters:
  ///   - root: an absolute path without symlinks (the source, resolved).
  ///   - name: the root's path in the archive.
  ///   - excludes: glob patterns (fnmatch(3), `*` matches `/` too) matched against each
  ///     host path and each of its tails that starts after a `/`: `cache` leaves out
  ///     every `.../cache`, `*.tmp` every file ending in `.tmp`, `/srv/ca/tmp` that one.
  public init(root: String, name: ArchivePath, excludes: [String]) throws {
    self.root = root
    self.excludes = excludes.map { Array($0.utf8) }
    let parentPath = root.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    // O_PATH: only the right to search the parent is needed, not to read it.
    let parent = open(parentPath.isEmpty ? "/" : parentPath, rehost_o_path() | O_DIRECTORY | O_CLOEXEC)
    guard parent >= 0 else { throw SystemError.io("read", parentPath) }
    stack = try DirectoryStack(root: parent)
    // The root is visited as the one child of its parent, under its archive name.
    let base = Array(root.split(separator: "/").last.map { Array($0.utf8) } ?? [])
    pending = [Level(names: [base], path: ArchivePath(bytes: []), hostPath: Array(parentPath.utf8))]
    rootArchiveName = name
  }

  private let rootArchiveName: ArchivePath

  /// The next entry, or nil at the end.
  public func next() throws -> WalkedEntry? {
    current = nil
    while let level = pending.last {
      guard level.next < level.names.count else {
        for file in pending.removeLast().ahead.values {  // none, as every name was visited
          aheadOpen -= 1
          aheadBytes -= Self.readAheadSize(file)
        }
        if stack.depth > 0 {
          let fd = stack.pop()
          if fd >= 0 { close(fd) }
        }
        continue
      }
      let index = level.next
      pending[pending.count - 1].next += 1
      let name = level.names[index]
      let hostPath = level.hostPath + [UInt8(ascii: "/")] + name
      let path = pending.count == 1 ? rootArchiveName : level.path.appending(component: name)
      if pending.count > 1 && isExcluded(hostPath) { continue }
      let entry: WalkedEntry?
      if let early = pending[pending.count - 1].ahead.removeValue(forKey: index) {
        aheadOpen -= 1
        aheadBytes -= Self.readAheadSize(early)
        entry = try regularFile(early, path: path, shown: TextEscape.escape(hostPath))
      } else {
        entry = try visit(name, path: path, hostPath: hostPath)
      }
      readAhead()
      if let entry { return entry }
    }
    return nil
  }

  /// Opens the next regular files of the directory being walked before their turn, and
  /// asks the kernel to read them in (POSIX_FADV_WILLNEED): on a cold cache their reads
  /// then overlap instead of each waiting for the disk in turn (as `tar` does). At most
  /// `aheadFiles` files and `aheadLimit` bytes ahead. A file is described from the
  /// descriptor opened here, as from any other: what is recorded is what is read. One that
  /// cannot be opened here is left to its visit, which says why.
  private func readAhead() {
    guard pending.count > 1, let dirfd = try? stack.topFD() else { return }
    let top = pending.count - 1
    while aheadOpen < Self.aheadFiles, aheadBytes < Self.aheadLimit {
      let index = max(pending[top].aheadCursor, pending[top].next)
      guard index < pending[top].names.count else { return }
      pending[top].aheadCursor = index + 1
      let name = pending[top].names[index]
      let hostPath = pending[top].hostPath + [UInt8(ascii: "/")] + name
      var st = stat()
      guard !isExcluded(hostPath), name.withCString({ fstatat(dirfd, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0,
            st.st_mode & S_IFMT == S_IFREG, st.st_size > 0,
            let file = try? OpenFile(parent: dirfd, name: name, shown: TextEscape.escape(hostPath)) else { continue }
      posix_fadvise(file.fd, 0, off_t(Self.readAheadSize(file)), POSIX_FADV_WILLNEED)
      pending[top].ahead[index] = file
      aheadOpen += 1
      aheadBytes += Self.readAheadSize(file)
    }
  }

  /// How much of a file read-ahead asks for: its start (the kernel's own read-ahead
  /// follows a sequential read from there).
  static func readAheadSize(_ file: OpenFile) -> Int { min(Int(file.status.st_size), 4 << 20) }

  private func visit(_ name: [UInt8], path: ArchivePath, hostPath: [UInt8]) throws -> WalkedEntry? {
    let dirfd = try stack.topFD()
    let shown = TextEscape.escape(hostPath)
    var st = stat()
    guard name.withCString({ fstatat(dirfd, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 else {
      if errno == ENOENT {
        otherWarnings.append("\(shown) disappeared while the snapshot ran; it is not in the archive")
        return nil
      }
      throw unreadable(shown)
    }
    var xattrs: [ExtendedAttribute] = []
    var symlinkTarget: [UInt8]?
    let kind: WalkedEntry.Kind
    switch st.st_mode & S_IFMT {
    case S_IFDIR:
      let fd = name.withCString { DirectoryTools.openDirectory(dirfd, $0) }
      guard fd >= 0 else { throw unreadable(shown) }
      guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
        close(fd)
        throw changed(shown)
      }
      xattrs = try Self.xattrs(fd, shown)
      noteInodeFlags(fd, shown)
      let names: [[UInt8]]
      do { names = try DirectoryTools.names(in: fd) } catch {
        close(fd)
        throw unreadable(shown)
      }
      stack.push(name: name, fd: fd, status: st)
      pending.append(Level(names: names, path: path, hostPath: hostPath))
      kind = .directory
    case S_IFREG:
      return try regularFile(OpenFile(parent: dirfd, name: name, shown: shown), path: path, shown: shown)
    case S_IFLNK:
      symlinkTarget = try readLink(dirfd, name, size: Int(st.st_size), shown: shown)
      kind = .symlink
    case S_IFIFO: kind = .fifo
    case S_IFCHR: kind = .characterDevice
    case S_IFBLK: kind = .blockDevice
    default:
      skippedSockets.append(shown)
      return nil
    }
    return entry(path: path, shown: shown, kind: kind, status: st, symlinkTarget: symlinkTarget, hardlinkTo: nil,
                 xattrs: xattrs, content: nil)
  }

  private func regularFile(_ file: OpenFile, path: ArchivePath, shown: String) throws -> WalkedEntry {
    let st = file.status
    var hardlinkTo: ArchivePath?
    if st.st_nlink > 1 {
      let id = FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
      if let first = links[id] { hardlinkTo = first } else { links[id] = path }
    }
    var xattrs: [ExtendedAttribute] = []
    if hardlinkTo == nil {
      xattrs = try Self.xattrs(file.fd, shown)
      noteInodeFlags(file.fd, shown)
      current = file
    }
    return entry(path: path, shown: shown, kind: .file, status: st, symlinkTarget: nil, hardlinkTo: hardlinkTo, xattrs: xattrs,
                 content: hardlinkTo == nil ? file : nil)
  }

  private func entry(path: ArchivePath, shown: String, kind: WalkedEntry.Kind, status st: stat, symlinkTarget: [UInt8]?,
                     hardlinkTo: ArchivePath?, xattrs: [ExtendedAttribute], content: OpenFile?) -> WalkedEntry {
    let user = owners.user(st.st_uid), group = owners.group(st.st_gid)
    for (what, id, value) in [("user", st.st_uid, user), ("group", st.st_gid, group)] where value == nil {
      let warning = "the \(what) name of id \(id) is not UTF-8 text; the archive keeps only the number"
      if !otherWarnings.contains(warning) { otherWarnings.append(warning) }
    }
    return WalkedEntry(path: path, shown: shown, kind: kind, status: st, userName: user ?? "", groupName: group ?? "",
                       symlinkTarget: symlinkTarget, hardlinkTo: hardlinkTo, xattrs: xattrs, content: content)
  }

  private func isExcluded(_ hostPath: [UInt8]) -> Bool {
    guard !excludes.isEmpty else { return false }
    var starts = [0]
    for (i, b) in hostPath.enumerated() where b == UInt8(ascii: "/") { starts.append(i + 1) }
    return hostPath.withCString { full in
      excludes.contains { pattern in
        pattern.withCString { p in starts.contains { fnmatch(p, full + $0, 0) == 0 } }
      }
    }
  }

  private func readLink(_ dirfd: Int32, _ name: [UInt8], size: Int, shown: String) throws -> [UInt8] {
    var capacity = max(size + 1, 256)
    while true {
      var buffer = [UInt8](repeating: 0, count: capacity)
      let n = name.withCString { cname in buffer.withUnsafeMutableBytes { readlinkat(dirfd, cname, $0.baseAddress!.assumingMemoryBound(to: CChar.self), capacity) } }
      if n < 0 { throw unreadable(shown) }
      if n < capacity { return Array(buffer[0..<n]) }
      capacity *= 2
    }
  }

  /// Immutable and append-only flags (chattr) are not archived: say so.
  private func noteInodeFlags(_ fd: Int32, _ shown: String) {
    var flags: Int32 = 0
    if rehost_inode_flags(fd, &flags) == 0, flags & (rehost_flag_immutable() | rehost_flag_append()) != 0 {
      otherWarnings.append("\(shown) is immutable or append-only (chattr); those flags are not archived")
    }
  }

  /// Every extended attribute of an open file or directory (POSIX ACLs are the
  /// `system.posix_acl_access` and `system.posix_acl_default` attributes).
  static func xattrs(_ fd: Int32, _ shown: String) throws -> [ExtendedAttribute] {
    var size = rehost_flistxattr(fd, nil, 0)
    if size < 0 {
      if errno == ENOTSUP || errno == ENOSYS { return [] }
      throw RehostError(.failure, "cannot list the extended attributes of \(shown): \(String(cString: strerror(errno)))")
    }
    if size == 0 { return [] }
    var list = [CChar](repeating: 0, count: Int(size))
    size = rehost_flistxattr(fd, &list, UInt(size))
    guard size >= 0 else { throw RehostError(.failure, "the extended attributes of \(shown) changed while read", hint: "run the snapshot again") }
    var out: [ExtendedAttribute] = []
    for raw in list[0..<Int(size)].split(separator: 0) {
      let name = raw.map { UInt8(bitPattern: $0) }
      let length = Int(name.withCString { rehost_fgetxattr(fd, $0, nil, 0) })
      guard length >= 0 else { continue }  // removed meanwhile
      var value = [UInt8](repeating: 0, count: length)
      let got = Int(name.withCString { cname in value.withUnsafeMutableBytes { rehost_fgetxattr(fd, cname, $0.baseAddress, UInt(length)) } })
      guard got >= 0 else { throw RehostError(.failure, "cannot read the extended attribute \(TextEscape.escape(name)) of \(shown)") }
      out.append(ExtendedAttribute(name: name, value: Array(value[0..<got])))
    }
    return out.sorted { $0.name.lexicographicallyPrecedes($1.name) }
  }

  private func unreadable(_ shown: String) -> RehostError {
    let error = SystemError.io("read", shown)
    return RehostError(error.kind, error.message, hint: "every file must be readable for a complete snapshot; fix permissions or --exclude it")
  }

  private func changed(_ shown: String) -> RehostError {
    RehostError(.failure, "\(shown) changed type while the snapshot ran", hint: "stop what changes it and run the snapshot again")
  }
}

/// A regular file opened for reading from its directory without following a symlink,
/// and described from the open descriptor.
public final class OpenFile: ByteSource {
  public let fd: Int32
  public let status: stat
  private let shown: String

  init(parent: Int32, name: [UInt8], shown: String) throws {
    self.shown = shown
    // O_NONBLOCK: if a FIFO took the file's place, opening it must not wait.
    let flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
    var fd = name.withCString { openat(parent, $0, flags | rehost_o_noatime()) }
    if fd < 0 && errno == EPERM { fd = name.withCString { openat(parent, $0, flags) } }  // not the owner: atime it is
    guard fd >= 0 else {
      let error = SystemError.io("read", shown)
      throw RehostError(error.kind, error.message, hint: "every file must be readable for a complete snapshot; fix permissions or --exclude it")
    }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
      close(fd)
      throw RehostError(.failure, "\(shown) stopped being a regular file while the snapshot ran",
                        hint: "stop what changes it and run the snapshot again")
    }
    self.fd = fd
    status = st
  }

  deinit { close(fd) }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    while true {
      let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
      if n >= 0 { return n }
      if errno != EINTR { throw SystemError.io("read", shown) }
    }
  }
}

/// User and group names by id, looked up once each. nil when the name is not UTF-8.
struct OwnerNames {
  private var users: [uid_t: String?] = [:]
  private var groups: [gid_t: String?] = [:]

  mutating func user(_ uid: uid_t) -> String? {
    if let known = users[uid] { return known }
    var entry = passwd(), result: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 16384)
    let name = getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0 && result != nil
      ? String(validatingCString: entry.pw_name) : ""
    users[uid] = name
    return name
  }

  mutating func group(_ gid: gid_t) -> String? {
    if let known = groups[gid] { return known }
    var entry = Glibc.group(), result: UnsafeMutablePointer<Glibc.group>?
    var buffer = [CChar](repeating: 0, count: 16384)
    let name = getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0 && result != nil
      ? String(validatingCString: entry.gr_name) : ""
    groups[gid] = name
    return name
  }
}
