import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// Reads an archive file front to back exactly once: hashes every byte, parses the
/// header, and (given a key) decrypts and decompresses the payload into a tar reader.
///
/// Reading, decryption and decompression run on a thread of their own, feeding the tar
/// reader through a bounded ``BlockPipe``, so unpacking and writing files overlap with them.
final class ArchiveFileReader {
  let path: String
  private let hashing: HashingSource
  let header: ArchiveHeader
  let headerLength: Int
  private var pipe: BlockPipe?
  private var stage: BackgroundTask<(String, Int64)>?

  init(path: String) throws {
    self.path = path
    hashing = HashingSource(source: try FileSource(path: path))
    (header, headerLength) = try ArchiveHeader.read(from: hashing)
  }

  deinit {
    pipe?.cancel()
    _ = try? stage?.result()
  }

  /// Opens the payload with the first identity that fits, or with enough custodian
  /// shares (from the identities and from share files).
  func openPayload(with identities: [Identity], shareFiles: [String] = []) throws -> TarReader {
    let shares = try ShareExport.load(shareFiles, header: header, identities: identities)
    let key = try Envelope.open(header, with: identities, shares: shares)
    let decryptor = try ChunkDecryptor(key: key, chunkSize: header.chunkSize, source: hashing,
                                       payloadOffset: Int64(headerLength))
    let plaintext = try ZstdDecompressor(source: decryptor)
    let pipe = BlockPipe()
    let hashing = self.hashing
    // From here on `hashing` and its chain belong to the stage's thread.
    stage = BackgroundTask(name: "rehost-decrypt") {
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
      defer { buffer.deallocate() }
      do {
        while true {
          let n = try plaintext.read(into: buffer)
          if n == 0 { break }
          try pipe.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        // The final chunk has authenticated and nothing follows it; hash what is left.
        let digest = try hashing.drainAndDigest()
        pipe.close(error: nil)
        return (digest, hashing.byteCount)
      } catch {
        pipe.close(error: error)
        throw error
      }
    }
    self.pipe = pipe
    return try TarReader(source: pipe)
  }

  /// Reads whatever is left (so the final chunk is authenticated and nothing follows it)
  /// and returns the file's SHA-256 and size.
  func finish() throws -> (sha256: String, size: Int64) {
    guard let pipe, let stage else {
      let digest = try hashing.drainAndDigest()
      return (digest, hashing.byteCount)
    }
    // What follows the tar end-of-archive marker may only be zero padding.
    var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let n = try scratch.withUnsafeMutableBytes { try pipe.read(into: $0) }
      if n == 0 { break }
      if scratch[0..<n].contains(where: { $0 != 0 }) {
        throw RehostError(.corrupt, "data follows the end of the archive's tar stream",
                          hint: "the archive was not written by rehost as sealed; do not trust it")
      }
    }
    return try stage.result()
  }
}

extension ArchiveFileReader {
  /// Finishes the read and holds it against the seal: the file's SHA-256 and size, and,
  /// after a full read, the manifest's hash and totals. Returns the file's size.
  @discardableResult
  func finish(against facts: SealFacts, payload: PayloadSummary?) throws -> Int64 {
    let (sha256, size) = try finish()
    try SealCheck.compare(facts, sha256: sha256, size: size)
    if let payload { try SealCheck.compare(facts, payload: payload) }
    return size
  }
}

/// Receives the archive's content entries as they stream past (restore writes them to
/// disk; deep verify only lets the checker hash them).
protocol EntryHandler: AnyObject {
  func begin(_ entry: ArchiveEntry, path: String) throws
  func data(_ bytes: UnsafeRawBufferPointer) throws
  func end(_ entry: ArchiveEntry) throws
}

/// What the payload held, once checked against its manifest.
public struct PayloadSummary: Sendable {
  public let manifestHeader: ManifestHeader
  public let totals: ManifestTotals
  public let manifestSHA256: String
  /// The databases the snapshot captured (their dumps are among the entries).
  public let databases: [ManifestDatabase]
}

/// Walks a decrypted payload: enforces the path rules, hashes every file, collects
/// the entries' manifest lines and, at the end, compares them with the manifest the
/// archive carries. Memory stays flat: both lists go to scratch files.
final class PayloadWalker {
  private let tar: TarReader
  private let progress: ProgressObserver?
  private let manifestCopy: ByteSink?
  private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

  /// - Parameter manifestCopy: receives the archive's stored manifest as it is read.
  init(tar: TarReader, progress: ProgressObserver?, manifestCopy: ByteSink? = nil) {
    self.tar = tar
    self.progress = progress
    self.manifestCopy = manifestCopy
  }

  deinit { buffer.deallocate() }

  func run(_ handler: EntryHandler) throws -> PayloadSummary {
    let seen = try SpoolFile()
    let stored = try SpoolFile()
    let storedHash = SHA256()
    let rules = PathRules()
    var sawManifest = false
    var totals = ManifestTotals()
    var entries = 0
    var bytes: Int64 = 0
    var databaseFiles = Set<String>()
    while let entry = try tar.next() {
      guard let rawPath = entry.pathname, !entry.hasUndecodableLink else {
        throw RehostError(.corrupt, "the archive holds an entry whose name is not valid UTF-8")
      }
      // Directories may come back with a trailing slash; the manifest has none.
      let path = entry.fileType == .directory && rawPath.count > 1 && rawPath.hasSuffix("/") ? String(rawPath.dropLast()) : rawPath
      if sawManifest {
        throw RehostError(.corrupt, "the archive has an entry (\(path)) after its manifest",
                          hint: "the archive was not written by rehost as sealed; do not trust it")
      }
      if path == Manifest.archivePath {
        sawManifest = true
        try copyData { chunk in
          storedHash.update(chunk)
          try stored.write(chunk)
          try manifestCopy?.write(chunk)
        }
        continue
      }
      try rules.check(entry, path: path)
      if ManifestDatabase.isDatabasePath(path) { databaseFiles.insert(path) }
      var record = ManifestEntry(entry, sha256: nil)
      try handler.begin(entry, path: path)
      if record.type == .file {
        let hasher = SHA256()
        let size = try copyData { chunk in
          hasher.update(chunk)
          try handler.data(chunk)
          bytes += Int64(chunk.count)
          progress?.progress(entries: entries, bytes: bytes)
        }
        if size != record.size {
          throw RehostError(.corrupt, "\(path): \(size) bytes of content where its header says \(record.size)")
        }
        record.sha256 = Hex.encode(hasher.finalize())
      }
      try handler.end(entry)
      totals.add(record)
      try seen.write(Array((record.jsonLine() + "\n").utf8))
      entries += 1
      progress?.progress(entries: entries, bytes: bytes)
    }
    try rules.checkSymlinkChains()
    guard sawManifest else {
      throw RehostError(.corrupt, "the archive has no manifest (\(Manifest.archivePath))",
                        hint: "the archive was not written by rehost as sealed; do not trust it")
    }
    let (header, databases) = try compare(seen: seen.reader(), stored: stored.reader(), totals: totals)
    for database in databases {
      for file in database.files where !databaseFiles.contains(ManifestDatabase.archiveDirectory + "/" + database.name + "/" + file) {
        throw RehostError(.corrupt, "the manifest says database \(database.name) is in \(file), which the archive does not hold",
                          hint: "the archive is incomplete; do not trust it")
      }
    }
    return PayloadSummary(manifestHeader: header, totals: totals, manifestSHA256: Hex.encode(storedHash.finalize()),
                          databases: databases)
  }

  /// Streams the current entry's data through `body`; returns the byte count.
  @discardableResult
  private func copyData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
    var total: Int64 = 0
    while true {
      let n = try tar.readData(into: buffer)
      if n == 0 { return total }
      try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
      total += Int64(n)
    }
  }

  /// Compares the entries seen, line by line, with the stored manifest, whose last line
  /// must equal `totals` (counted from the entries seen, which match it line for line).
  /// Database records sit between the entries and the totals; they are returned.
  private func compare(seen: ByteSource, stored: ByteSource, totals: ManifestTotals) throws -> (ManifestHeader, [ManifestDatabase]) {
    let actual = LineReader(source: seen), expected = LineReader(source: stored)
    func bad(_ why: String) -> RehostError {
      RehostError(.corrupt, "the archive's manifest is malformed: \(why)",
                  hint: "the archive was not written by rehost as sealed; do not trust it")
    }
    guard let headerLine = try expected.next(),
          let header = try? JSONDecoder().decode(ManifestHeader.self, from: Data(headerLine.utf8)),
          header.format == Manifest.format else { throw bad("no valid first line") }
    var index = 0
    var databases: [ManifestDatabase] = []
    while true {
      guard var storedLine = try expected.next() else { throw bad("no totals line") }
      while storedLine.hasPrefix(ManifestDatabase.linePrefix) {
        guard let database = try? ManifestDatabase.parse(storedLine) else { throw bad("an unreadable database record") }
        databases.append(database)
        guard let next = try expected.next() else { throw bad("no totals line") }
        storedLine = next
      }
      if !databases.isEmpty && !storedLine.hasPrefix("{\"totals\":") { throw bad("entries after the database records") }
      let seenLine = try actual.next()
      if storedLine.hasPrefix("{\"totals\":") {
        if let seenLine {
          throw RehostError(.corrupt, "the archive holds \(try describe(seenLine)), which its manifest does not list",
                            hint: "the archive was not written by rehost as sealed; do not trust it")
        }
        guard storedLine == totals.jsonLine(), try expected.next() == nil else {
          throw bad("its totals do not add up to its entries")
        }
        return (header, databases)
      }
      guard let seenLine else {
        throw RehostError(.corrupt, "the manifest lists \(try describe(storedLine)), which the archive does not hold",
                          hint: "the archive is incomplete; do not trust it")
      }
      index += 1
      if seenLine != storedLine {
        let want = try ManifestEntry.parse(storedLine), got = try ManifestEntry.parse(seenLine)
        throw RehostError(.corrupt, "entry \(index), \(want.path), differs from the manifest: \(want.differences(from: got).joined(separator: ", "))",
                          hint: "do not trust this archive; use another copy")
      }
    }
  }

  private func describe(_ line: String) throws -> String {
    (try? ManifestEntry.parse(line)).map { "\($0.type.rawValue) \($0.path)" } ?? "an unreadable entry"
  }
}
