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
    hashing = HashingSource(source: try FileSource(path: path, what: "archive"))
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
      do {
        try pipe.write(contentsOf: plaintext)
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

  /// Reports the bytes read to `progress`, against the archive's size: for a check
  /// that reads the archive without decrypting it.
  func reportReading(to progress: ProgressObserver?, size: Int64) {
    guard let progress else { return }
    progress.expect(entries: nil, bytes: size)
    hashing.observer = progress
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
/// disk; deep verify only lets the checker hash them). Every entry has passed
/// ``EntryRules`` first.
protocol EntryHandler: AnyObject {
  func begin(_ entry: CheckedEntry) throws
  func data(_ bytes: UnsafeRawBufferPointer) throws
  func end(_ entry: CheckedEntry) throws
}

/// What the payload held, once checked against its manifest.
public struct PayloadSummary: Sendable {
  public let manifestHeader: ManifestHeader
  public let totals: ManifestTotals
  public let manifestSHA256: String
  /// The databases the snapshot captured (their dumps are among the entries).
  public let databases: [ManifestDatabase]
  /// Entries that restore only with `--allow-special`: path and what makes them special.
  public let specialEntries: [(path: ArchivePath, why: String)]
}

/// Checks a decrypted, decompressed payload (a tar stream) against the rules and its
/// own manifest, writing nothing: what deep verify does after decryption. The fuzz
/// target drives this.
public enum PlaintextCheck {
  public static func run(_ tarStream: ByteSource, entries: Int? = nil, contentBytes: Int64? = nil) throws -> PayloadSummary {
    let walker = PayloadWalker(tar: try TarReader(source: tarStream), seal: nil, progress: nil)
    walker.bound(entries: entries, contentBytes: contentBytes)
    return try walker.run(DiscardingHandler())
  }
}

/// Walks a decrypted payload: applies ``EntryRules`` to every entry, hashes every file,
/// builds each entry's manifest line and, at the end, compares them byte for byte with
/// the manifest the archive carries. Memory stays flat: both lists go to scratch files.
final class PayloadWalker {
  private let tar: TarReader
  private let progress: ProgressObserver?
  private let manifestCopy: ByteSink?
  private var rules: EntryRules
  private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

  /// - Parameters:
  ///   - seal: the seal's facts, whose entry count and content bytes bound what is read
  ///     (nil: unbounded, for `check`, which writes nothing).
  ///   - manifestCopy: receives the archive's stored manifest as it is read.
  init(tar: TarReader, seal: SealFacts?, progress: ProgressObserver?, manifestCopy: ByteSink? = nil) {
    self.tar = tar
    self.progress = progress
    self.manifestCopy = manifestCopy
    rules = EntryRules(entries: seal?.entries, bytes: seal?.contentBytes)
    if let seal { progress?.expect(entries: seal.entries, bytes: seal.contentBytes) }
  }

  deinit { buffer.deallocate() }

  /// Bounds the walk as a seal's `Entries` and `Content-Bytes` would.
  func bound(entries: Int?, contentBytes: Int64?) { rules = EntryRules(entries: entries, bytes: contentBytes) }

  func run(_ handler: EntryHandler) throws -> PayloadSummary {
    let seen = try SpoolFile()
    let stored = try SpoolFile()
    let storedHash = SHA256()
    var sawManifest = false
    var totals = ManifestTotals()
    var entries = 0
    var bytes: Int64 = 0
    var databaseFiles = Set<String>()
    var specials: [(ArchivePath, String)] = []
    while let entry = try tar.next() {
      try Interruption.shared.check()
      if sawManifest {
        throw RehostError(.corrupt, "the archive has an entry (\(entry.path.map(\.description) ?? "?")) after its manifest",
                          hint: "the archive was not written by rehost as sealed; do not trust it")
      }
      if entry.path == ArchivePath(Manifest.archivePath) {
        guard entry.fileType == .file, entry.hardlinkPath == nil, entry.size <= Manifest.maxBytes else {
          throw RehostError(.corrupt, "the archive's manifest entry is not a regular file of at most \(Manifest.maxBytes) bytes",
                            hint: "the archive was not written by rehost as sealed; do not trust it")
        }
        sawManifest = true
        try copyData { chunk in
          storedHash.update(chunk)
          try stored.write(chunk)
          try manifestCopy?.write(chunk)
        }
        continue
      }
      let checked = try rules.check(entry, posix: tar.entryIsPOSIX)
      if let database = checked.database { databaseFiles.insert(database.database + "/" + database.file) }
      if let why = checked.special { specials.append((checked.path, why)) }
      try handler.begin(checked)
      var sha256: String?
      let size = try copyData(hashing: checked.kind == .file) { chunk in
        guard checked.kind == .file else { return }
        try handler.data(chunk)
        bytes += Int64(chunk.count)
        progress?.progress(entries: entries, bytes: bytes)
      }
      if checked.kind == .file {
        guard size.count == entry.size else {
          throw RehostError(.corrupt, "\(checked.path): \(size.count) bytes of content where its header says \(entry.size)")
        }
        sha256 = size.digest
      } else if size.count != 0 {
        throw EntryRules.refuse("\(checked.path), a \(checked.kind.rawValue), carries data")
      }
      try handler.end(checked)
      let record = ManifestEntry(entry, path: checked.path, kind: checked.kind, sha256: sha256)
      totals.add(record)
      try seen.write(Array((record.jsonLine() + "\n").utf8))
      entries += 1
      progress?.progress(entries: entries, bytes: bytes)
    }
    try tar.finishStream()
    guard sawManifest else {
      throw RehostError(.corrupt, "the archive has no manifest (\(Manifest.archivePath))",
                        hint: "the archive was not written by rehost as sealed; do not trust it")
    }
    let (header, databases) = try compare(seen: seen.reader(), stored: stored.reader(), totals: totals)
    for database in databases {
      for file in database.files + (database.roles.map { [$0] } ?? []) where !databaseFiles.contains(database.name + "/" + file) {
        throw RehostError(.corrupt, "the manifest says database \(database.name) is in \(file), which the archive does not hold",
                          hint: "the archive is incomplete; do not trust it")
      }
      let rolesStored = databaseFiles.contains(database.name + "/" + ManifestDatabase.rolesFileName)
      guard database.roles == (rolesStored ? ManifestDatabase.rolesFileName : nil) else {
        throw RehostError(.corrupt, "database \(database.name)'s roles file and its record in the manifest disagree",
                          hint: "the archive was not written by rehost as sealed; do not trust it")
      }
    }
    return PayloadSummary(manifestHeader: header, totals: totals, manifestSHA256: Hex.encode(storedHash.finalize()),
                          databases: databases, specialEntries: specials)
  }

  /// Streams the current entry's data through `body`; returns the byte count and, when
  /// asked, the SHA-256 of the bytes.
  @discardableResult
  private func copyData(hashing: Bool = false, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> (count: Int64, digest: String?) {
    var total: Int64 = 0
    let hasher = hashing ? SHA256() : nil
    while true {
      let n = try tar.readData(into: buffer)
      if n == 0 { return (total, hasher.map { Hex.encode($0.finalize()) }) }
      try Interruption.shared.check()
      let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
      hasher?.update(chunk)
      try body(chunk)
      total += Int64(n)
    }
  }

  /// Compares the entries seen, line by line and byte for byte, with the stored
  /// manifest, whose last line must equal `totals` (counted from the entries seen, which
  /// match it line for line). Database records sit between the entries and the totals.
  private func compare(seen: ByteSource, stored: ByteSource, totals: ManifestTotals) throws -> (ManifestHeader, [ManifestDatabase]) {
    let actual = LineReader(source: seen, maxLength: Manifest.maxLineBytes)
    let expected = LineReader(source: stored, maxLength: Manifest.maxLineBytes)
    func bad(_ why: String) -> RehostError {
      RehostError(.corrupt, "the archive's manifest is malformed: \(why)",
                  hint: "the archive was not written by rehost as sealed; do not trust it")
    }
    func nextStored() throws -> [UInt8]? {
      let line = try expected.nextBytes()
      if line != nil && !expected.lastLineEnded { throw bad("its last line does not end with a newline") }
      return line
    }
    guard let headerLine = try nextStored(), let header = try? ManifestHeader.parse(headerLine) else {
      throw bad("no valid first line")
    }
    let totalsPrefix = Array("{\"totals\":".utf8)
    let databasePrefix = Array(ManifestDatabase.linePrefix.utf8)
    var index = 0
    var databases: [ManifestDatabase] = []
    while true {
      guard var storedLine = try nextStored() else { throw bad("no totals line") }
      while storedLine.starts(with: databasePrefix) {
        guard let database = try? ManifestDatabase.parse(String(decoding: storedLine, as: UTF8.self)),
              Array(database.jsonLine().utf8) == storedLine else { throw bad("an unreadable database record") }
        databases.append(database)
        guard let next = try nextStored() else { throw bad("no totals line") }
        storedLine = next
      }
      if !databases.isEmpty && !storedLine.starts(with: totalsPrefix) { throw bad("entries after the database records") }
      let seenLine = try actual.nextBytes()
      if storedLine.starts(with: totalsPrefix) {
        if let seenLine {
          throw RehostError(.corrupt, "the archive holds \(describe(seenLine)), which its manifest does not list",
                            hint: "the archive was not written by rehost as sealed; do not trust it")
        }
        guard storedLine == Array(totals.jsonLine().utf8), try nextStored() == nil else {
          throw bad("its totals do not add up to its entries")
        }
        return (header, databases)
      }
      guard let seenLine else {
        throw RehostError(.corrupt, "the manifest lists \(describe(storedLine)), which the archive does not hold",
                          hint: "the archive is incomplete; do not trust it")
      }
      index += 1
      if seenLine != storedLine {
        let got = try? ManifestEntry.parse(String(decoding: seenLine, as: UTF8.self))
        guard let want = try? ManifestEntry.parse(String(decoding: storedLine, as: UTF8.self)), let got else {
          throw bad("entry \(index) is not a manifest entry line")
        }
        var differences = want.differences(from: got)
        if differences.isEmpty { differences = ["its line is not written the canonical way"] }
        throw RehostError(.corrupt, "entry \(index), \(want.path), differs from the manifest: \(differences.joined(separator: ", "))",
                          hint: "do not trust this archive; use another copy")
      }
    }
  }

  private func describe(_ line: [UInt8]) -> String {
    (try? ManifestEntry.parse(String(decoding: line, as: UTF8.self))).map { "\($0.type.rawValue) \($0.path)" } ?? "an unreadable entry"
  }
}
