import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// Puts an archive and its seal in place together.
///
/// Both are written under temporary names and synced first, so a full disk or any
/// other failure shows before either appears. Then the archive is renamed into place,
/// and the seal right after it. A run killed between those two renames leaves the
/// archive and, under its temporary name, its complete seal: the next snapshot to the
/// same path finds the pair and removes both (``recoverInterrupted(archive:seal:)``), so
/// an archive never stays at its name without its seal unless someone removed the seal.
public enum SnapshotCommit {
  static func commit(archive: AtomicFile, seal: Seal, sealPath: String) throws {
    let sealFile = try AtomicFile(path: sealPath, mode: 0o644)
    try sealFile.write(Array(seal.encoded().utf8))
    try archive.sync()
    try sealFile.sync()
    try archive.commit()
    do {
      try sealFile.commit()
    } catch {
      unlink(archive.path)
      throw error
    }
  }

  /// Undoes a snapshot killed between its two renames: `archive` without `seal`, and a
  /// dead run's complete seal for exactly that archive beside it. Returns notes.
  public static func recoverInterrupted(archive: String, seal: String) throws -> [String] {
    guard FileManager.default.fileExists(atPath: archive), !FileManager.default.fileExists(atPath: seal) else { return [] }
    let directory = URL(fileURLWithPath: seal).deletingLastPathComponent().path
    let prefix = Array(("." + URL(fileURLWithPath: seal).lastPathComponent + AtomicFile.marker).utf8)
    let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dirfd >= 0 else { return [] }
    defer { close(dirfd) }
    for name in try DirectoryTools.names(in: dirfd) where name.starts(with: prefix) && RunLeftovers.isDead(name, prefix: prefix, in: dirfd) {
      let temporary = directory + "/" + String(decoding: name, as: UTF8.self)
      guard let bytes = try? InputFile.read(temporary, what: "seal", limit: Seal.maxSealBytes),
            let facts = try? SealFacts(fields: Seal.parse(bytes).statement) else { continue }
      let (sha256, size) = try Verify.hashFile(archive)
      guard sha256 == facts.archiveSHA256, size == facts.archiveSize else { continue }
      unlink(archive)
      unlink(temporary)
      return ["removed \(archive) and its unfinished seal, left by a snapshot killed while putting them in place"]
    }
    return []
  }
}
