import RehostBase

/// Paths inside an archive: `/`-separated, relative to the restore directory.
public enum ArchivePaths {
  /// Where symlink `link` -> `target` leads, resolved from the link's directory and, when
  /// `symlinks` (path -> target) is given, through the archive's other symlinks (at most
  /// 40 hops), by name only: nothing on disk is consulted. nil when it climbs above the
  /// root, meets an absolute target, or loops.
  public static func resolve(link: ArchivePath, target: [UInt8], through symlinks: [ArchivePath: [UInt8]]? = nil) -> ArchivePath? {
    let slash = UInt8(ascii: "/")
    guard target.first != slash else { return nil }
    var current = Array(link.components.dropLast()).map(Array.init)
    var pending = target.split(separator: slash).map(Array.init)
    var hops = 0
    while !pending.isEmpty {
      let component = pending.removeFirst()
      if component == [0x2e] { continue }
      if component == [0x2e, 0x2e] {
        if current.isEmpty { return nil }
        current.removeLast()
        continue
      }
      current.append(component)
      if let symlinks, let next = symlinks[ArchivePath(bytes: Array(current.joined(separator: [slash])))] {
        hops += 1
        if hops > 40 || next.first == slash { return nil }
        current.removeLast()
        pending = next.split(separator: slash).map(Array.init) + pending
      }
    }
    return ArchivePath(bytes: Array(current.joined(separator: [slash])))
  }
}
