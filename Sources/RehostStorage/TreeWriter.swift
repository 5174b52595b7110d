import CPosix
import Glibc
import RehostBase

/// Builds a tree under a root directory from entries given depth first (each entry's
/// parent is the directory made last on its way, as an archive stores them).
///
/// Everything is created relative to directory descriptors (``DirectoryStack``), with
/// O_NOFOLLOW and O_EXCL: the writer never follows a symlink, never replaces anything,
/// and nothing it is given can make it write outside the root, whatever the names or
/// symlinks say. A hard link is made to a regular file the writer made, found again
/// from the root the same way. File contents are written sparsely (blocks of zeros
/// become holes). A directory's own metadata is set when the walk leaves it, once
/// nothing more will be created in it.
public final class TreeWriter {
  /// What an entry keeps besides its content.
  public struct Metadata {
    public var permissions: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var mtimeSeconds: Int64
    public var mtimeNanoseconds: Int
    public var xattrs: [ExtendedAttribute]

    public init(permissions: UInt32, uid: UInt32, gid: UInt32, mtimeSeconds: Int64, mtimeNanoseconds: Int,
                xattrs: [ExtendedAttribute] = []) {
      self.permissions = permissions
      self.uid = uid
      self.gid = gid
      self.mtimeSeconds = mtimeSeconds
      self.mtimeNanoseconds = mtimeNanoseconds
      self.xattrs = xattrs
    }
  }

  public enum Node: Sendable { case fifo, characterDevice(major: UInt32, minor: UInt32), blockDevice(major: UInt32, minor: UInt32) }

  private let stack: DirectoryStack
  /// For each level below the root: its archive path and the metadata to set on leaving it.
  private var levels: [(path: ArchivePath, metadata: Metadata)] = []
  private let restoreOwners: Bool
  private var file: (fd: Int32, path: ArchivePath, size: Int64, offset: Int64, metadata: Metadata)?
  /// Metadata that could not be set (an extended attribute the target refuses), by entry.
  public private(set) var problems: [String] = []

  /// - Parameters:
  ///   - root: an open directory, owned by the writer from now on.
  ///   - restoreOwners: set owners from the entries (root only).
  public init(root: Int32, restoreOwners: Bool) throws {
    stack = try DirectoryStack(root: root)
    self.restoreOwners = restoreOwners
  }

  public func makeDirectory(_ path: ArchivePath, _ metadata: Metadata) throws {
    let (parent, name) = try enterParent(of: path)
    let fd: Int32 = try name.withCString { cname in
      guard mkdirat(parent, cname, 0o700) == 0 else { throw failure("create", path) }
      return DirectoryTools.openDirectory(parent, cname)
    }
    var st = stat()
    guard fd >= 0, fstat(fd, &st) == 0 else { throw failure("open", path) }
    stack.push(name: name, fd: fd, status: st)
    levels.append((path, metadata))
  }

  public func beginFile(_ path: ArchivePath, _ metadata: Metadata, size: Int64) throws {
    let (parent, name) = try enterParent(of: path)
    let fd = name.withCString { openat(parent, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
    guard fd >= 0 else { throw failure("create", path) }
    file = (fd, path, size, 0, metadata)
  }

  /// Content of the file begun last; blocks of 64 KiB that are all zeros become holes.
  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard var current = file else { preconditionFailure("write without beginFile") }
    defer { file = current }
    var done = 0
    while done < bytes.count {
      let block = Int64(Self.holeBlock)
      let n = min(bytes.count - done, Int(block - current.offset % block))
      let piece = UnsafeRawBufferPointer(rebasing: bytes[done..<done + n])
      if !(n == Self.holeBlock && Self.isZero(piece)) {
        var written = 0
        while written < n {
          let w = pwrite(current.fd, piece.baseAddress! + written, n - written, off_t(current.offset) + off_t(written))
          if w < 0 {
            if errno == EINTR { continue }
            throw failure("write", current.path)
          }
          written += w
        }
      }
      current.offset += Int64(n)
      done += n
    }
  }

  public func endFile() throws {
    guard let current = file else { preconditionFailure("endFile without beginFile") }
    file = nil
    defer { close(current.fd) }
    // Holes at the end are not written: the size is set instead.
    guard ftruncate(current.fd, off_t(current.offset)) == 0 else { throw failure("write", current.path) }
    try apply(current.metadata, to: current.fd, path: current.path)
  }

  public func makeSymlink(_ path: ArchivePath, target: [UInt8], _ metadata: Metadata) throws {
    let (parent, name) = try enterParent(of: path)
    try name.withCString { cname in
      guard target.withCString({ symlinkat($0, parent, cname) }) == 0 else { throw failure("create", path) }
      if restoreOwners, fchownat(parent, cname, metadata.uid, metadata.gid, AT_SYMLINK_NOFOLLOW) != 0 {
        throw failure("set the owner of", path)
      }
      try setTime(metadata, parent: parent, name: cname, path: path)
    }
  }

  /// Makes `path` another name of the regular file at `target`, made earlier by this writer.
  public func makeHardlink(_ path: ArchivePath, to target: ArchivePath) throws {
    let (parent, name) = try enterParent(of: path)
    let (targetDirectory, ownsDirectory) = try directory(holding: target)
    defer { if ownsDirectory { close(targetDirectory) } }
    try Array(target.lastComponent).withCString { targetName in
      var st = stat()
      guard fstatat(targetDirectory, targetName, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG else {
        throw RehostError(.refused, "unsafe archive: hard link \(path) -> \(target) does not name a regular file",
                          hint: "nothing was restored; an archive written by rehost never holds such an entry, so treat its source as hostile")
      }
      guard name.withCString({ linkat(targetDirectory, targetName, parent, $0, 0) }) == 0 else { throw failure("create", path) }
    }
  }

  public func makeNode(_ path: ArchivePath, _ node: Node, _ metadata: Metadata) throws {
    let (parent, name) = try enterParent(of: path)
    try name.withCString { cname in
      let result: Int32
      switch node {
      case .fifo: result = mkfifoat(parent, cname, 0o600)
      case .characterDevice(let major, let minor): result = mknodat(parent, cname, S_IFCHR | 0o600, dev_t(rehost_makedev(major, minor)))
      case .blockDevice(let major, let minor): result = mknodat(parent, cname, S_IFBLK | 0o600, dev_t(rehost_makedev(major, minor)))
      }
      guard result == 0 else { throw failure("create", path) }
      if restoreOwners, fchownat(parent, cname, metadata.uid, metadata.gid, AT_SYMLINK_NOFOLLOW) != 0 {
        throw failure("set the owner of", path)
      }
      // The node was just made in a directory only this run writes to: no symlink can be there.
      guard fchmodat(parent, cname, mode_t(metadata.permissions), 0) == 0 else { throw failure("set the mode of", path) }
      try setTime(metadata, parent: parent, name: cname, path: path)
    }
  }

  /// Leaves every directory (setting its metadata) and flushes the whole tree to disk.
  public func finish() throws {
    while !levels.isEmpty { try leaveDirectory() }
    guard rehost_syncfs(try stack.topFD()) == 0 else { throw failure("sync", ArchivePath("")) }
  }

  // MARK: -

  static let holeBlock = 64 * 1024

  /// A block of zeros to compare with (memcmp: this runs over every byte restored).
  private static let zeros = [UInt8](repeating: 0, count: holeBlock)

  static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count <= holeBlock && zeros.withUnsafeBytes { memcmp(bytes.baseAddress!, $0.baseAddress!, bytes.count) } == 0
  }

  /// Leaves directories until the parent of `path` is the top; returns its descriptor and the name.
  private func enterParent(of path: ArchivePath) throws -> (Int32, [UInt8]) {
    let parent = path.parent
    while let top = levels.last, top.path != parent { try leaveDirectory() }
    if parent != nil && levels.last?.path != parent {
      throw RehostError(.refused, "unsafe archive: \(path) does not follow its directory",
                        hint: "nothing was restored; an archive written by rehost never holds such an entry, so treat its source as hostile")
    }
    return (try stack.topFD(), Array(path.lastComponent))
  }

  private func leaveDirectory() throws {
    let level = levels.removeLast()
    var fd = stack.pop()
    if fd < 0 {
      // Its descriptor was closed to stay within the window: open it from its parent.
      let parent = try stack.topFD()
      fd = Array(level.path.lastComponent).withCString { DirectoryTools.openDirectory(parent, $0) }
      guard fd >= 0 else { throw failure("open", level.path) }
    }
    defer { close(fd) }
    try apply(level.metadata, to: fd, path: level.path)
  }

  /// The directory holding `path` (from the stack when it is there, else opened afresh
  /// from the root, component by component); the Bool says whether the caller closes it.
  private func directory(holding path: ArchivePath) throws -> (Int32, Bool) {
    guard let parent = path.parent else { return (try stack.fd(at: 0), false) }
    if let index = levels.firstIndex(where: { $0.path == parent }) { return (try stack.fd(at: index + 1), false) }
    var fd = dup(try stack.fd(at: 0))
    for component in parent.components {
      let next = Array(component).withCString { DirectoryTools.openDirectory(fd, $0) }
      close(fd)
      guard next >= 0 else {
        throw RehostError(.refused, "unsafe archive: the hard link target \(path) is not inside a directory of the archive",
                          hint: "nothing was restored; an archive written by rehost never holds such an entry, so treat its source as hostile")
      }
      fd = next
    }
    return (fd, true)
  }

  /// Owner first (chown clears setuid and setgid bits and file capabilities), then mode,
  /// then extended attributes (an ACL among them sets the group bits it must), then times.
  private func apply(_ metadata: Metadata, to fd: Int32, path: ArchivePath) throws {
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw failure("inspect", path) }
    // chown only when the owner differs: it is the slowest call here (it also drops
    // file capabilities, which the kernel checks for on every call).
    let chown = restoreOwners && (st.st_uid != metadata.uid || st.st_gid != metadata.gid)
    if chown, fchown(fd, metadata.uid, metadata.gid) != 0 { throw failure("set the owner of", path) }
    if chown || st.st_mode & 0o7777 != mode_t(metadata.permissions) {
      guard fchmod(fd, mode_t(metadata.permissions)) == 0 else { throw failure("set the mode of", path) }
    }
    for xattr in metadata.xattrs {
      let result = xattr.name.withCString { name in xattr.value.withUnsafeBytes { rehost_fsetxattr(fd, name, $0.baseAddress, UInt($0.count)) } }
      if result != 0 {
        problems.append("\(path): extended attribute \(TextEscape.escape(xattr.name)) not restored (\(String(cString: strerror(errno))))")
      }
    }
    var times = [Self.time(metadata), Self.time(metadata)]
    guard futimens(fd, &times) == 0 else { throw failure("set the time of", path) }
  }

  private func setTime(_ metadata: Metadata, parent: Int32, name: UnsafePointer<CChar>, path: ArchivePath) throws {
    var times = [Self.time(metadata), Self.time(metadata)]
    guard utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW) == 0 else { throw failure("set the time of", path) }
  }

  private static func time(_ metadata: Metadata) -> timespec {
    timespec(tv_sec: time_t(metadata.mtimeSeconds), tv_nsec: metadata.mtimeNanoseconds)
  }

  private func failure(_ what: String, _ path: ArchivePath) -> RehostError {
    let code = errno
    let reason = String(cString: strerror(code))
    switch code {
    case ENOSPC, EDQUOT:
      return RehostError(.failure, "cannot \(what) \(path) in the restore: \(reason)",
                         hint: "the target's filesystem is full: free space there (or restore elsewhere) and run the restore again; nothing was moved into place")
    case EEXIST:
      return RehostError(.refused, "unsafe archive: \(path) is in the archive twice",
                         hint: "nothing was restored; an archive written by rehost never holds such an entry, so treat its source as hostile")
    case EPERM where what == "create":
      return RehostError(.failure, "cannot \(what) \(path) in the restore: \(reason)",
                         hint: "device nodes need root (CAP_MKNOD); restore as root, or exclude them at the source")
    default:
      return RehostError(.failure, "cannot \(what) \(path) in the restore: \(reason)")
    }
  }
}
