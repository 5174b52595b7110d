import Glibc
import RehostBase

/// The chain of directories from a root down to where a depth-first walk (or build) is,
/// each opened relative to its parent with O_NOFOLLOW: no path string is ever resolved,
/// so no symlink can be followed and no path is too long for the kernel.
///
/// At most ``window`` descriptors stay open however deep the tree; a level whose
/// descriptor was closed is opened again from its parent when the walk comes back to
/// it, and must still be the same directory (device and inode).
final class DirectoryStack {
  struct Level {
    let name: [UInt8]
    var fd: Int32
    let device: UInt64
    let inode: UInt64
  }

  /// Open descriptors kept, the root's included.
  static let window = 64

  private(set) var levels: [Level] = []
  private var openCount = 0

  /// - Parameter root: an open directory; the stack owns it from now on.
  init(root: Int32) throws {
    var st = stat()
    guard fstat(root, &st) == 0 else { throw SystemError.io("inspect", "the root directory") }
    levels = [Level(name: [], fd: root, device: UInt64(st.st_dev), inode: UInt64(st.st_ino))]
    openCount = 1
  }

  deinit {
    for level in levels where level.fd >= 0 { close(level.fd) }
  }

  /// Levels below the root.
  var depth: Int { levels.count - 1 }

  /// Enters directory `fd` (opened from the top level as `name`); the stack owns it.
  func push(name: [UInt8], fd: Int32, status st: stat) {
    levels.append(Level(name: name, fd: fd, device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
    openCount += 1
    if openCount > Self.window {
      // Close the shallowest open descriptor below the root: the walk is far from it.
      if let i = levels.indices.dropFirst().first(where: { levels[$0].fd >= 0 }) {
        close(levels[i].fd)
        levels[i].fd = -1
        openCount -= 1
      }
    }
  }

  /// Leaves the top level; returns its descriptor (open, now the caller's) when it was
  /// still open, else -1.
  func pop() -> Int32 {
    precondition(levels.count > 1, "the root is never popped")
    let level = levels.removeLast()
    if level.fd >= 0 { openCount -= 1 }
    return level.fd
  }

  /// The descriptor of level `index`, opened again from its parent if it was closed.
  func fd(at index: Int) throws -> Int32 {
    if levels[index].fd >= 0 { return levels[index].fd }
    let parent = try fd(at: index - 1)
    let level = levels[index]
    let fd = level.name.withCString { DirectoryTools.openDirectory(parent, $0) }
    var st = stat()
    guard fd >= 0, fstat(fd, &st) == 0, UInt64(st.st_dev) == level.device, UInt64(st.st_ino) == level.inode else {
      if fd >= 0 { close(fd) }
      throw RehostError(.failure, "the directory \(TextEscape.escape(level.name)) was replaced while rehost worked in it",
                        hint: "stop whatever changes the tree and run again")
    }
    levels[index].fd = fd
    openCount += 1
    return fd
  }

  /// The top level's descriptor.
  func topFD() throws -> Int32 { try fd(at: levels.count - 1) }
}
