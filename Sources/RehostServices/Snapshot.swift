import Foundation
import RehostBase
import RehostCrypto
import RehostDatabases
import RehostFormat
import RehostStorage

/// What to snapshot and how to seal it.
public struct SnapshotOptions {
  /// Directory trees (or single files) to capture.
  public var sources: [String]
  /// Databases to capture, each in one consistent snapshot of its own.
  public var databases: [DatabaseLocation] = []
  /// The archive to write; the seal goes to `output + ".seal"`.
  public var output: String
  /// Custodians' public identities (their X25519 keys receive the data key).
  public var recipients: [PublicIdentity] = []
  /// Optional passphrase that also opens the archive.
  public var passphrase: [UInt8]?
  /// k-of-n custodians: opening the archive takes `threshold` of these identities.
  public var custodians: (threshold: Int, identities: [PublicIdentity])?
  /// The sealer's private identity (its Ed25519 key signs the seal).
  public var signer: PrivateIdentity
  public var label = ""
  /// The inventory the sources came from: checked before anything is written, its
  /// secret paths recorded in the manifest.
  public var inventory: Inventory?
  /// tar-style glob patterns of paths to leave out.
  public var excludes: [String] = []
  public var chunkSize = ChunkedStream.defaultChunkSize
  public var scryptLogN = PassphraseRecipient.defaultLogN
  public var compressionLevel: Int32 = 3
  /// zstd worker threads; compression then overlaps reading and hashing.
  public var compressionWorkers = Int32(max(1, ProcessInfo.processInfo.activeProcessorCount))

  public init(sources: [String], databases: [DatabaseLocation] = [], output: String, signer: PrivateIdentity) {
    self.sources = sources
    self.databases = databases
    self.output = output
    self.signer = signer
  }
}

/// What a snapshot produced.
public struct SnapshotResult: Sendable {
  public let archivePath: String
  public let sealPath: String
  public let facts: SealFacts
  /// Things skipped or not fully read (sockets, unreadable xattrs).
  public let warnings: [String]
}

/// Receives progress while a long operation runs (called often; throttle output yourself).
public protocol ProgressObserver: AnyObject {
  func progress(entries: Int, bytes: Int64)
}

/// Captures directory trees into a sealed archive: pax tar → zstd → chunked AES-256-GCM,
/// with a manifest inside and a signed seal beside it.
public enum Snapshot {
  public static let toolVersion = "rehost 0.1.0"

  public static func run(_ options: SnapshotOptions, progress: ProgressObserver? = nil) throws -> SnapshotResult {
    // The host must hold everything its inventory requires before anything is written.
    let inventoryWarnings = try options.inventory?.check() ?? []
    let sources = try resolveSources(options.sources, databases: options.databases)
    guard let signingKey = options.signer.signing else {
      throw RehostError(.key, "\(options.signer.path) has no Ed25519 signing key", hint: "pass a NAME.key written by `rehost keygen`")
    }
    var recipients: [Recipient] = try options.recipients.map { identity in
      guard let key = identity.encryption else {
        throw RehostError(.key, "\(identity.path) has no X25519 encryption key", hint: "pass a NAME.pub written by `rehost keygen`")
      }
      return X25519Recipient(publicKey: key)
    }
    if let passphrase = options.passphrase {
      recipients.append(PassphraseRecipient(passphrase: passphrase, logN: options.scryptLogN))
    }
    if let (threshold, identities) = options.custodians {
      guard recipients.isEmpty else {
        throw RehostError(.usage, "--custodians cannot be combined with --recipient or --passphrase-file",
                          hint: "a recipient or passphrase could open the archive alone, defeating dual control")
      }
      guard (1...identities.count).contains(threshold), identities.count <= 255 else {
        throw RehostError(.usage, "\(threshold)-of-\(identities.count) custodians is impossible",
                          hint: "give K-of-N with 1 <= K <= N and exactly N --custodian keys")
      }
      let keys = try identities.map { identity in
        guard let key = identity.encryption else { throw RehostError(.key, "\(identity.path) has no X25519 encryption key") }
        return key
      }
      guard Set(keys.map { $0.fingerprint() }).count == keys.count else {
        throw RehostError(.usage, "the same custodian key is given twice", hint: "each custodian needs their own identity")
      }
      recipients.append(CustodianGroup(threshold: threshold, custodians: keys))
    }
    guard !recipients.isEmpty else {
      throw RehostError(.usage, "no recipient: nobody could ever decrypt this archive",
                        hint: "add --recipient NAME.pub (and/or --passphrase-file FILE), or --custodians K-of-N with --custodian keys")
    }
    let sealPath = options.output + ".seal"
    for path in [options.output, sealPath] where FileManager.default.fileExists(atPath: path) {
      throw RehostError(.refused, "\(path) already exists", hint: "choose another --out name; rehost never overwrites an archive")
    }

    let (header, payloadKey) = try Envelope.seal(to: recipients, chunkSize: options.chunkSize)
    let file = try AtomicFile(path: options.output, mode: 0o644)
    do {
      let hashed = HashingSink(next: file)
      try hashed.write(header.encoded())
      let encryptor = try ChunkEncryptor(key: payloadKey, chunkSize: header.chunkSize, next: hashed)
      let compressor = try ZstdCompressor(level: options.compressionLevel, workers: options.compressionWorkers, next: encryptor)
      let tar = try TarWriter(sink: compressor)

      let manifestHeader = ManifestHeader(
        created: Timestamp.now(), host: HostName.current(), label: options.label, tool: toolVersion,
        sources: sources.map { .init(name: $0.name, path: $0.path) },
        secrets: options.inventory.map { inventory in inventory.secretPaths.compactMap { archivePath(of: $0, in: sources) } })
      let capture = try TreeCapture(tar: tar, progress: progress)
      try capture.begin(manifestHeader)
      // Databases first: each is one point in time of its own; the files follow.
      let databases = try options.databases.map { location in
        try Databases.capture(location, into: DatabaseEntryWriter(capture: capture, database: location.name))
      }
      for source in sources {
        try capture.add(source: source, excludes: options.excludes)
      }
      let (manifestSHA256, totals) = try capture.end(databases: databases)
      try tar.finish()

      let facts = SealFacts(
        archiveName: URL(fileURLWithPath: options.output).lastPathComponent, archiveSHA256: hashed.digest(),
        archiveSize: hashed.byteCount, manifestSHA256: manifestSHA256, entries: totals.entries,
        contentBytes: totals.bytes, recipients: recipients.flatMap(\.sealDescriptions), label: options.label,
        sources: sources.map(\.path) + options.databases.map(\.redacted), host: manifestHeader.host, created: manifestHeader.created,
        sealer: signingKey.fingerprint(), tool: toolVersion)
      var seal = Seal(statement: facts.fields())
      try seal.sign(role: "sealer", key: signingKey, time: manifestHeader.created)

      // The archive lands first: a run killed between the two renames leaves an
      // archive without a seal, which verify reports as unsealed, never as whole.
      try file.commit()
      try writeFileAtomically(seal.encoded(), to: sealPath)
      return SnapshotResult(archivePath: options.output, sealPath: sealPath, facts: facts, warnings: inventoryWarnings + capture.warnings)
    } catch {
      file.abort()
      throw error
    }
  }

  /// Where a host path lands in the archive (nil when no source holds it).
  static func archivePath(of path: String, in sources: [Source]) -> String? {
    for source in sources {
      if path == source.path { return source.name }
      if path.hasPrefix(source.path + "/") { return source.name + path.dropFirst(source.path.count) }
    }
    return nil
  }

  /// A source tree: its absolute path and its top-level name in the archive.
  struct Source {
    let path: String
    let name: String
  }

  static func resolveSources(_ paths: [String], databases: [DatabaseLocation] = []) throws -> [Source] {
    guard !paths.isEmpty || !databases.isEmpty else {
      throw RehostError(.usage, "nothing to snapshot", hint: "name at least one directory or database")
    }
    var names = Set<String>()
    for database in databases where !names.insert(database.name).inserted {
      throw RehostError(.usage, "two databases are both named \(database.name)", hint: "name them apart: NAME=\(database.engine.rawValue):...")
    }
    var seen: [String: String] = [:]
    return try paths.map { given in
      guard let resolved = realpath(given, nil) else { throw SystemError.io("read", given) }
      let path = String(cString: resolved)
      free(resolved)
      let name = URL(fileURLWithPath: path).lastPathComponent
      guard path != "/", !name.isEmpty else {
        throw RehostError(.usage, "cannot snapshot / as a whole", hint: "name the directories to capture")
      }
      guard name != Manifest.reservedTopLevelName else {
        throw RehostError(.usage, "a source may not be named \(name): the name is reserved for the manifest")
      }
      if let other = seen[name] {
        throw RehostError(.usage, "\(given) and \(other) would both be stored as '\(name)/'",
                          hint: "snapshot them into separate archives, or snapshot their common parent")
      }
      seen[name] = given
      return Source(path: path, name: name)
    }
  }
}

/// Writes entries into the tar stream while building the manifest beside it.
final class TreeCapture {
  private let tar: TarWriter
  private let progress: ProgressObserver?
  private let manifest: SpoolFile
  private let manifestHash = SHA256()
  private var totals = ManifestTotals()
  private var bytesSeen: Int64 = 0
  private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
  private(set) var warnings: [String] = []

  init(tar: TarWriter, progress: ProgressObserver?) throws {
    self.tar = tar
    self.progress = progress
    manifest = try SpoolFile()
  }

  deinit { buffer.deallocate() }

  func begin(_ header: ManifestHeader) throws {
    try appendManifestLine(header.jsonLine())
  }

  func add(source: Snapshot.Source, excludes: [String]) throws {
    let walker = try DiskWalker(root: source.path, excludes: excludes)
    let links = HardLinkResolver()
    while let entry = try walker.next() {
      guard let walked = entry.pathname, walked.hasPrefix(source.path) else {
        throw RehostError(.usage, "\(source.path) holds a file name that is not valid UTF-8: \(entry.sourcePath ?? "?")",
                          hint: "rename it, or leave it out with --exclude")
      }
      let archivePath = source.name + walked.dropFirst(source.path.count)
      switch entry.fileType {
      case .socket, .unknown:
        warnings.append("skipped \(walked): sockets and unknown file types are not archived")
        continue
      default: break
      }
      entry.pathname = archivePath
      entry.clearVolatileTimes()
      var file: OpenFile?
      if entry.fileType == .file {
        let opened = try OpenFile(path: entry.sourcePath ?? walked)
        entry.update(from: opened.status)
        file = opened
      }
      links.resolve(entry)
      if entry.hardlink != nil { file = nil }
      try tar.writeHeader(entry)
      var digest: String?
      if let file {
        digest = try copyContent(of: file, size: entry.size, name: file.path)
      }
      let record = ManifestEntry(entry, sha256: digest)
      totals.add(record)
      try appendManifestLine(record.jsonLine())
    }
    warnings += walker.warnings
  }

  /// Stores one file of a database's dump under `.rehost/databases/<database>/`.
  func addDatabaseFile(database: String, name: String, size: Int64, from source: ByteSource) throws {
    let entry = ArchiveEntry()
    entry.pathname = ManifestDatabase.archiveDirectory + "/" + database + "/" + name
    entry.setRegularFile(size: size, permissions: 0o600, mtime: Int64(Date().timeIntervalSince1970))
    try tar.writeHeader(entry)
    let digest = try copyContent(of: source, size: size, name: entry.pathname ?? name)
    let record = ManifestEntry(entry, sha256: digest)
    totals.add(record)
    try appendManifestLine(record.jsonLine())
  }

  /// Finishes the manifest (database records, then totals) and stores it as the
  /// archive's last entry.
  func end(databases: [ManifestDatabase] = []) throws -> (sha256: String, totals: ManifestTotals) {
    for database in databases { try appendManifestLine(database.jsonLine()) }
    try appendManifestLine(totals.jsonLine())
    let entry = ArchiveEntry()
    entry.pathname = Manifest.archivePath
    entry.setRegularFile(size: manifest.byteCount, permissions: 0o600, mtime: Int64(Date().timeIntervalSince1970))
    try tar.writeHeader(entry)
    let reader = try manifest.reader()
    while true {
      let n = try reader.read(into: buffer)
      if n == 0 { break }
      try tar.writeData(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
    return (Hex.encode(manifestHash.finalize()), totals)
  }

  private func appendManifestLine(_ line: String) throws {
    let bytes = Array((line + "\n").utf8)
    manifestHash.update(bytes)
    try manifest.write(bytes)
  }

  /// Streams exactly `size` bytes of `file` into the tar stream, hashing them.
  private func copyContent(of file: ByteSource, size: Int64, name: String) throws -> String {
    let hasher = SHA256()
    var remaining = size
    while remaining > 0 {
      let want = Int(min(Int64(buffer.count), remaining))
      let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
      if n == 0 {
        throw RehostError(.failure, "\(name) shrank while it was being read (\(size - remaining) of \(size) bytes)",
                          hint: "stop what writes to it (or snapshot the database with its own method) and run the snapshot again")
      }
      let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
      hasher.update(chunk)
      try tar.writeData(chunk)
      remaining -= Int64(n)
      bytesSeen += Int64(n)
      progress?.progress(entries: totals.entries, bytes: bytesSeen)
    }
    return Hex.encode(hasher.finalize())
  }
}

/// Hands one database's files to the capture, under that database's directory.
final class DatabaseEntryWriter: DatabaseArchiveWriter {
  private let capture: TreeCapture
  private let database: String

  init(capture: TreeCapture, database: String) {
    self.capture = capture
    self.database = database
  }

  func addFile(named name: String, size: Int64, from source: ByteSource) throws {
    try capture.addDatabaseFile(database: database, name: name, size: size, from: source)
  }
}
