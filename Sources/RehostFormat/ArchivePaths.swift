/// Paths inside an archive: `/`-separated, relative to the restore directory.
public enum ArchivePaths {
  /// Where symlink `link` -> `target` leads, resolved from the link's directory and, when
  /// `symlinks` (path -> target) is given, through the archive's other symlinks (at most
  /// 40 hops). nil when it climbs above the root, meets an absolute target, or loops.
  public static func resolve(link: String, target: String, through symlinks: [String: String]? = nil) -> String? {
    guard !target.hasPrefix("/") else { return nil }
    var current = link.split(separator: "/").dropLast().map(String.init)
    var pending = target.split(separator: "/").map(String.init)
    var hops = 0
    while !pending.isEmpty {
      let component = pending.removeFirst()
      if component == "." { continue }
      if component == ".." {
        if current.isEmpty { return nil }
        current.removeLast()
        continue
      }
      current.append(component)
      if let symlinks, let next = symlinks[current.joined(separator: "/")] {
        hops += 1
        if hops > 40 || next.hasPrefix("/") { return nil }
        current.removeLast()
        pending = next.split(separator: "/").map(String.init) + pending
      }
    }
    return current.joined(separator: "/")
  }
}
