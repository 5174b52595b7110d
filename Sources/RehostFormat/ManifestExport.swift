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
    public let path: String
    public let sha256: String
  }

  /// Reads the manifest twice (via `open`) to resolve links without holding every
  /// file's hash in memory: only the hashes of link targets are kept.
  public static func lines(_ open: () throws -> ByteSource, emit: (Line) throws -> Void) throws {
    // Pass 1: which paths do links point to?
    var symlinks: [String: String] = [:]
    var wanted = Set<String>()
    try forEachEntry(open()) { entry in
      switch entry.type {
      case .symlink: if let target = entry.target { symlinks[entry.path] = target }
      case .hardlink: if let link = entry.link { wanted.insert(link) }
      default: break
      }
    }
    var resolved: [String: String] = [:]  // symlink path -> final path
    for (path, target) in symlinks {
      if let final = ArchivePaths.resolve(link: path, target: target, through: symlinks) {
        resolved[path] = final
        wanted.insert(final)
      }
    }
    // Pass 2: emit files and hard links in order; remember the hashes links need.
    var hashes: [String: String] = [:]
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

  /// A line of `sha256sum` output for `path` (with its escaping of `\` and newlines).
  public static func sha256sumLine(_ line: Line, prefix: String = "") -> String {
    let path = prefix + line.path
    if path.contains("\\") || path.contains("\n") {
      let escaped = path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
      return "\\\(line.sha256)  \(escaped)\n"
    }
    return "\(line.sha256)  \(path)\n"
  }

  /// A line of a BagIt `manifest-sha256.txt`. CR and LF are percent-encoded; `%` is left
  /// as is, as bagit-python (1.9, the Library of Congress validator) reads it, although
  /// RFC 8493 §2.1.3 asks for `%25`: a bag is only useful if the validators accept it.
  public static func bagitLine(_ line: Line) -> String {
    let path = ("data/" + line.path).replacingOccurrences(of: "\n", with: "%0A").replacingOccurrences(of: "\r", with: "%0D")
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
      if !ManifestDatabase.isDatabasePath(entry.path) { try body(entry) }
    }
  }
}
