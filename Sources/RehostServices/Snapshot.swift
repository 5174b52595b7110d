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
  public var compressionLevel: Int32 = 1
  /// For a backup: its place in its repository, named in the seal.
  public var repository: RepositoryLink?
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
  /// Things done on the side (leftovers of interrupted snapshots removed).
  public let notes: [String]
}

/// Captures directory trees into a sealed archive: pax tar → zstd → chunked AES-256-GCM,
/// with a manifest inside and a signed seal beside it.
public enum Snapshot {
  public static let toolVersion = "rehost 0.1.0"

  public static func run(_ options: SnapshotOptions, progress: ProgressObserver? = nil) throws -> SnapshotResult {
    // The host must hold everything its inventory requires before anything is written.
    let inventoryWarnings = try options.inventory?.check() ?? []
    let sources = try resolveSources(options.sources, databases: options.databases)
    if let progress { SourceMeasure.start(sources.map(\.path), into: progress) }
    guard let signingKey = options.signer.signing else {
      throw RehostError(.key, "\(options.signer.path) has no Ed25519 signing key", hint: "pass a NAME.key written by `rehost keygen`")
    }
    guard options.label.isEmpty || SealFields.isValidValue(options.label) else {
      throw RehostError(.usage, "the label must be one line of printable text without leading or trailing spaces")
    }
    let recipients = try self.recipients(options)
    let sealPath = options.output + ".seal"
    var notes = try SnapshotCommit.recoverInterrupted(archive: options.output, seal: sealPath)
    for path in [options.output, sealPath] where FileManager.default.fileExists(atPath: path) {
      throw RehostError(.refused, "\(path) already exists", hint: "choose another --out name; rehost never overwrites an archive")
    }

    let (header, payloadKey) = try Envelope.seal(to: recipients, chunkSize: options.chunkSize)
    let file = try AtomicFile(path: options.output, mode: 0o644)
    notes += file.removedLeftovers.map { "removed \($0), left by an interrupted snapshot" }
    var writeBehind: WriteBehindSink?
    do {
      let hashed = HashingSink(next: file)
      try hashed.write(header.encoded())
      let encryptor = try ChunkEncryptor(key: payloadKey, chunkSize: header.chunkSize, next: hashed)
      // Encryption, the archive's hash and the writes on a thread of their own: the main
      // thread (walk, reads, content hashes, tar) is what the compression workers wait for.
      let behind = WriteBehindSink(next: encryptor, name: "rehost-archive-writer")
      writeBehind = behind
      let compressor = try ZstdCompressor(level: options.compressionLevel, workers: options.compressionWorkers, next: behind)
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

      var facts = SealFacts(
        archiveName: TextEscape.escape(Array(URL(fileURLWithPath: options.output).lastPathComponent.utf8)),
        archiveSHA256: hashed.digest(), archiveSize: hashed.byteCount, manifestSHA256: manifestSHA256,
        entries: totals.entries, contentBytes: totals.bytes, recipients: recipients.flatMap(\.sealDescriptions),
        label: options.label, sources: SealFacts.sourceLines(manifestHeader, databases: databases),
        host: TextEscape.escape(Array(manifestHeader.host.utf8)), created: manifestHeader.created,
        sealer: signingKey.fingerprint(), tool: toolVersion)
      facts.repository = options.repository
      var seal = Seal(statement: facts.fields())
      try seal.sign(role: "sealer", key: signingKey, time: manifestHeader.created)
      try SnapshotCommit.commit(archive: file, seal: seal, sealPath: sealPath)
      return SnapshotResult(archivePath: options.output, sealPath: sealPath, facts: facts,
                            warnings: inventoryWarnings + capture.warnings, notes: notes)
    } catch {
      writeBehind?.abandon()
      file.abort()
      throw error
    }
  }

  /// The seal's `Recipient:` lines an archive made with `options` will have.
  public static func sealRecipients(_ options: SnapshotOptions) throws -> [String] {
    try recipients(options).flatMap(\.sealDescriptions)
  }

  /// Who can open the archive: recipients, a passphrase, or custodians (k-of-n).
  static func recipients(_ options: SnapshotOptions) throws -> [Recipient] {
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
      guard threshold >= 1, threshold <= identities.count, identities.count <= 255 else {
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
    return recipients
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
      defer { free(resolved) }
      guard let path = String(validatingCString: resolved) else {
        throw RehostError(.usage, "the source \(given) resolves to a path that is not UTF-8 text",
                          hint: "snapshot its parent directory instead: names inside a source may be any bytes")
      }
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
