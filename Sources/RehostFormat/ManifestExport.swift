import Foundation
import RehostBase

/// Turns a manifest into files that tools we did not write can check a restored tree
/// with: a `sha256sum -c` list, or a BagIt (RFC 8493) bag's tag files.
///
/// Regular files and hard links are listed with their content hash; symlinks that lead
/// to a regular file in the archive are listed with that file's hash (checkers follow
/// them). Directories, symlinks to directories, special files and database dumps are
/// not listed.
public enum ManifestExport {
  /// One checkable path and the SHA-256 of what it holds.
  public struct Line: Equatable, Sendable {
    public let path: ArchivePath
    public let sha256: String
  }

  /// Reads the manifest twice (via `open`) to resolve links without holding every
  /// file's hash in memory: only the hashes of link targets are kept.
  public static func lines(_ open: () throws -> ByteSource, emit: (Line) throws -> Void) throws {
    // Pass 1: which paths do links point to?
    var symlinks: [ArchivePath: [UInt8]] = [:]
    var wanted = Set<ArchivePath>()
    try forEachEntry(open()) { entry in
      switch entry.type {
      case .symlink: if let target = entry.target { symlinks[entry.path] = target }
      case .hardlink: if let link = entry.link { wanted.insert(link) }
      default: break
      }
    }
    var resolved: [ArchivePath: ArchivePath] = [:]  // symlink path -> final path
    for (path, target) in symlinks {
      if let final = ArchivePaths.resolve(link: path, target: target, through: symlinks) {
        resolved[path] = final
        wanted.insert(final)
      }
    }
    // Pass 2: emit files and hard links in order; remember the hashes links need.
    var hashes: [ArchivePath: String] = [:]
    try forEachEntry(open()) { entry in
      switch entry.type {
      case .file:
        guard let sha = entry.sha256 else { return }
        if wanted.contains(entry.path) { hashes[entry.path] = sha }
        try emit(Line(path: entry.path, sha256: sha))
      case .hardlink:
        if let link = entry.link, let sha = hashes[link] { try emit(Line(path: entry.path, sha256: sha)) }
      default: break
      }
    }
    for path in resolved.keys.sorted() {
      if let sha = hashes[resolved[path]!] { try emit(Line(path: path, sha256: sha)) }
    }
  }

  /// A line of `sha256sum` output for `path`, its bytes as they are, with GNU
  /// sha256sum's escaping when the name holds a backslash, a newline or a CR: the line
  /// then starts with `\` and those become `\\`, `\n` and `\r`.
  public static func sha256sumLine(_ line: Line) -> [UInt8] {
    let path = line.path.bytes
    guard path.contains(where: { $0 == 0x5c || $0 == 0x0a || $0 == 0x0d }) else {
      return Array("\(line.sha256)  ".utf8) + path + [0x0a]
    }
    var escaped: [UInt8] = []
    for b in path {
      switch b {
      case 0x5c: escaped += [0x5c, 0x5c]
      case 0x0a: escaped += [0x5c, 0x6e]
      case 0x0d: escaped += [0x5c, 0x72]
      default: escaped.append(b)
      }
    }
    return Array("\\\(line.sha256)  ".utf8) + escaped + [0x0a]
  }

  /// A line of a BagIt `manifest-sha256.txt`. CR and LF are percent-encoded; `%` is left
  /// as is, as bagit-python (1.9, the Library of Congress validator) reads it, although
  /// RFC 8493 §2.1.3 asks for `%25`: a bag is only useful if the validators accept it.
  /// BagIt names are UTF-8: a name that is not cannot be in a bag.
  public static func bagitLine(_ line: Line) throws -> String {
    guard let text = line.path.string else {
      throw RehostError(.failure, "a BagIt bag cannot list \(line.path): its name is not UTF-8",
                        hint: "use `rehost manifest export --format sha256sum`, which lists names byte for byte")
    }
    let path = ("data/" + text).replacingOccurrences(of: "\n", with: "%0A").replacingOccurrences(of: "\r", with: "%0D")
    return "\(line.sha256)  \(path)\n"
  }

  /// `bagit.txt`.
  public static let bagitDeclaration = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

  /// `bag-info.txt`: the seal's facts, so the bag names the sealed archive it came from.
  public static func bagInfo(_ facts: SealFacts, baggingDate: String) -> String {
    var lines = [
      "Bagging-Date: \(baggingDate)",
      "External-Identifier: sha256:\(facts.archiveSHA256)",
      "Rehost-Archive: \(facts.archiveName)",
      "Rehost-Archive-SHA256: \(facts.archiveSHA256)",
      "Rehost-Manifest-SHA256: \(facts.manifestSHA256)",
      "Rehost-Sealer: \(facts.sealer)",
      "Rehost-Sealed: \(facts.created)",
      "Rehost-Host: \(facts.host)",
    ]
    lines += facts.sources.map { "Rehost-Source: \($0)" }
    if !facts.label.isEmpty { lines.append("External-Description: \(facts.label)") }
    return lines.joined(separator: "\n") + "\n"
  }

  private static func forEachEntry(_ source: ByteSource, _ body: (ManifestEntry) throws -> Void) throws {
    let reader = LineReader(source: source)
    _ = try reader.next()  // header line
    while let line = try reader.next() {
      if line.hasPrefix("{\"totals\":") || line.hasPrefix(ManifestDatabase.linePrefix) { return }
      let entry = try ManifestEntry.parse(line)
      // Database dumps are restored into databases, not into the tree.
      if ManifestDatabase.fileName(entry.path) == nil { try body(entry) }
    }
  }
}
