import RehostBase
import RehostFormat
import RehostStorage

/// What an archive entry may name: nothing that lands outside the restore directory.
///
/// Lexical rules per entry (relative, no `..`, links that stay inside), plus the archive's
/// own symlinks: no entry may be written through one, and once all are known, every
/// symlink is resolved through the others and must still land inside. This is what
/// libarchive's SECURE_SYMLINKS guards against, for a fresh staging tree, without its
/// open() of every path component of every entry (ten times the system calls).
final class PathRules {
  /// The archive's symlinks so far (path -> target). Memory grows with symlinks only.
  private var symlinks: [String: String] = [:]

  func check(_ entry: ArchiveEntry, path: String) throws {
    try Self.checkRelative(path, what: "entry \(path)")
    try checkNotThroughSymlink(path, what: "entry \(path)")
    if let link = entry.hardlink {
      try Self.checkRelative(link, what: "hard link \(path) -> \(link)")
      try checkNotThroughSymlink(link, what: "hard link \(path) -> \(link)")
    }
    if entry.fileType == .symlink, let target = entry.symlink {
      guard !target.hasPrefix("/") else { throw Self.refuse("symlink \(path) -> \(target) points to an absolute path") }
      guard ArchivePaths.resolve(link: path, target: target) != nil else {
        throw Self.refuse("symlink \(path) -> \(target) points outside the restore directory")
      }
      symlinks[path] = target
    }
  }

  /// Resolves every symlink through the others; call once all entries are seen.
  func checkSymlinkChains() throws {
    for (path, target) in symlinks where ArchivePaths.resolve(link: path, target: target, through: symlinks) == nil {
      throw Self.refuse("symlink \(path) -> \(target) leads outside the restore directory through other symlinks, or loops")
    }
  }

  private func checkNotThroughSymlink(_ path: String, what: String) throws {
    var prefix = ""
    for component in path.split(separator: "/").dropLast() {
      prefix += prefix.isEmpty ? String(component) : "/" + component
      if let target = symlinks[prefix] {
        throw Self.refuse("\(what) would be written through the archive's symlink \(prefix) -> \(target)")
      }
    }
  }

  private static func checkRelative(_ path: String, what: String) throws {
    guard !path.hasPrefix("/") else { throw refuse("\(what) is an absolute path") }
    let parts = path.split(separator: "/", omittingEmptySubsequences: false)
    guard !parts.contains(where: { $0 == ".." }) else { throw refuse("\(what) climbs out with '..'") }
    guard !parts.contains(where: { $0.isEmpty || $0 == "." }) else { throw refuse("\(what) is not a clean relative path") }
  }

  private static func refuse(_ why: String) -> RehostError {
    RehostError(.refused, "unsafe archive: \(why)",
                hint: "nothing was restored; an archive written by rehost never holds such an entry, so treat its source as hostile")
  }
}
