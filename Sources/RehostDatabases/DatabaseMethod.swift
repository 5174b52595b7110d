import RehostBase
import RehostFormat
import RehostStorage

/// Where a database snapshot puts its files: the snapshot's tar stream, seen only
/// through this narrow door so that the engines know nothing of archives.
public protocol DatabaseArchiveWriter: AnyObject {
  /// Stores exactly `size` bytes read from `source` as the file `name` in the database's
  /// archive directory.
  func addFile(named name: String, size: Int64, from source: ByteSource) throws
  /// Something the operator must know about the capture (it goes on, and is reported).
  func warn(_ message: String)
}

/// Receives a database's dump during a restore and, once all of it arrived, says what
/// the target now holds.
public protocol DatabaseLoader: AnyObject {
  /// The next bytes of the dump, in archive order.
  func write(_ bytes: UnsafeRawBufferPointer) throws
  /// Ends the dump, lets the engine finish loading, and measures every table of the
  /// target the way the snapshot measured the source: each table of `expected` with the
  /// checksum kind its record names (older archives name older kinds).
  func finish(like expected: [ManifestDatabase.Table]) throws -> [ManifestDatabase.Table]
  /// Makes the restored database visible (SQLite: renames it into place). Called only
  /// after the archive and every table checked out.
  func commit() throws
  /// Undoes what can be undone (SQLite: removes the temporary file).
  func abort()
}

/// Snapshots and restores one database engine.
protocol DatabaseMethod {
  /// Takes a consistent snapshot and streams it into `writer`; returns the manifest record.
  func capture(into writer: DatabaseArchiveWriter) throws -> ManifestDatabase
  /// Prepares to load the dump of the database `name` into this (empty) database.
  func loader(name: String) throws -> DatabaseLoader
}

/// The one entry point for services: picks the method for a location.
public enum Databases {
  /// Snapshots the database at `location` into `writer`.
  /// With `location.roles`, the server's roles first, as the archive file
  /// ``ManifestDatabase/rolesFileName``.
  public static func capture(_ location: DatabaseLocation, into writer: DatabaseArchiveWriter) throws -> ManifestDatabase {
    var roles: String?
    if location.roles {
      let sql = try Roles.capture(location)
      try sql.withUnsafeBytes { try writer.addFile(named: ManifestDatabase.rolesFileName, size: Int64(sql.count), from: MemorySource($0)) }
      roles = ManifestDatabase.rolesFileName
    }
    var record = try method(for: location).capture(into: writer)
    record.roles = roles
    return record
  }

  /// A loader that restores database `name`, whose dump begins with the archive file
  /// `firstFile`, into the empty database at `target`.
  public static func loader(name: String, firstFile: String, into target: DatabaseLocation) throws -> DatabaseLoader {
    guard let method = method(ofFile: firstFile) else {
      throw RehostError(.corrupt, "database \(name) is stored in \(firstFile), which no rehost method writes",
                        hint: "this archive was not written by this rehost version; use a newer one")
    }
    guard method == methodName(target.engine) else {
      throw RehostError(.usage, "database \(name) was taken by \(method) and cannot be restored into a \(target.engine.rawValue) database",
                        hint: "give --db \(name)=\(engine(forMethod: method)?.rawValue ?? "?"):...")
    }
    return try self.method(for: target).loader(name: name)
  }

  /// The method that writes an archive file of this name.
  public static func method(ofFile file: String) -> String? {
    if file == SQLiteMethod.fileName { return SQLiteMethod.name }
    if file.hasSuffix(".pgdump") { return PostgresMethod.name }
    if file.hasSuffix(".sql") { return MariaDBMethod.name }
    return nil
  }

  /// Compares what a restore measured with what the snapshot recorded, table by table.
  public static func compare(expected: [ManifestDatabase.Table], actual: [ManifestDatabase.Table]) -> [TableCheck] {
    let found = Dictionary(actual.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    var checks = expected.map { table in TableCheck(name: table.name, expected: table, actual: found[table.name]) }
    let known = Set(expected.map(\.name))
    checks += actual.filter { !known.contains($0.name) }.map { TableCheck(name: $0.name, expected: nil, actual: $0) }
    return checks
  }

  static func methodName(_ engine: DatabaseEngine) -> String {
    switch engine {
    case .sqlite: return SQLiteMethod.name
    case .postgres: return PostgresMethod.name
    case .mysql: return MariaDBMethod.name
    }
  }

  static func engine(forMethod method: String) -> DatabaseEngine? {
    DatabaseEngine.allCases.first { methodName($0) == method }
  }

  private static func method(for location: DatabaseLocation) -> DatabaseMethod {
    switch location.engine {
    case .sqlite: return SQLiteMethod(location: location)
    case .postgres: return PostgresMethod(location: location)
    case .mysql: return MariaDBMethod(location: location)
    }
  }
}

/// A kind of table checksum an engine computes, named in the manifest by its prefix
/// (`kind:value`).
protocol TableChecksumKind: RawRepresentable where RawValue == String {}

extension TableChecksumKind {
  init?(of checksum: String) {
    guard let colon = checksum.firstIndex(of: ":") else { return nil }
    self.init(rawValue: String(checksum[..<colon]))
  }

  /// The kind each table of `expected` was summed with, so a restore measures alike; a
  /// kind unknown to `engine` means the archive came from elsewhere.
  static func recorded(in expected: [ManifestDatabase.Table], engine: String) throws -> [String: Self] {
    var kinds: [String: Self] = [:]
    for table in expected {
      guard let kind = Self(of: table.checksum) else {
        throw RehostError(.corrupt, "table \(table.name) has the checksum \(table.checksum), of a kind no rehost version computes in \(engine)",
                          hint: "this archive was not written by this rehost version; use a newer one")
      }
      kinds[table.name] = kind
    }
    return kinds
  }
}

/// One table's verdict after a restore.
public struct TableCheck: Sendable {
  public let name: String
  public let expected: ManifestDatabase.Table?
  public let actual: ManifestDatabase.Table?

  public var passed: Bool { expected != nil && expected == actual }

  /// `users: 120000 rows, checksum equal` or what differs.
  public var summary: String {
    guard let expected else { return "\(name): in the restored database but not in the snapshot" }
    guard let actual else { return "\(name): missing from the restored database (\(expected.rows) rows expected)" }
    var problems: [String] = []
    if actual.rows != expected.rows { problems.append("\(actual.rows) rows instead of \(expected.rows)") }
    if actual.checksum != expected.checksum { problems.append("checksum \(actual.checksum) instead of \(expected.checksum)") }
    return problems.isEmpty ? "\(name): \(expected.rows) rows, checksum equal" : "\(name): " + problems.joined(separator: ", ")
  }
}

/// Splits a stream of unknown length (a dump tool's output) into archive files of at
/// most `partSize` bytes, so it goes into the tar stream as it is produced: a tar
/// header needs the size up front, and nothing spools the whole dump to disk.
final class PartWriter {
  static let partSize = 8 << 20
  static let readAhead = 4 << 20

  private let writer: DatabaseArchiveWriter
  private let prefix: String
  private let suffix: String
  private(set) var files: [String] = []
  private(set) var bytes: Int64 = 0

  init(writer: DatabaseArchiveWriter, prefix: String, suffix: String) {
    self.writer = writer
    self.prefix = prefix
    self.suffix = suffix
  }

  /// Copies `source` to its end; `observe` sees every byte on the way.
  ///
  /// A thread of its own reads the source `readAhead` bytes ahead, so that the dump tool
  /// goes on producing while a part is compressed, encrypted and written (read in turn
  /// with the archive, each waited for the other: MariaDB's snapshot took 20 % longer).
  func copy(from source: ByteSource, observe: (UnsafeRawBufferPointer) throws -> Void = { _ in }) throws {
    let queue = BlockPipe(capacity: 4, blockSize: PartWriter.readAhead / 4)
    let reader = BackgroundTask(name: "rehost-dump-reader") { () throws -> Void in
      do {
        try queue.write(contentsOf: source, bufferSize: 256 << 10)
        queue.close(error: nil)
      } catch {
        queue.close(error: error)
        throw error
      }
    }
    do {
      try copyParts(from: queue, observe: observe)
    } catch {
      // Not waited for: the reader ends once the caller stops the tool it reads.
      queue.cancel()
      throw error
    }
    try reader.result()
  }

  private func copyParts(from source: ByteSource, observe: (UnsafeRawBufferPointer) throws -> Void) throws {
    let part = UnsafeMutableRawBufferPointer.allocate(byteCount: PartWriter.partSize, alignment: 16)
    defer { part.deallocate() }
    while true {
      let filled = try source.readFully(into: part)
      if filled == 0 { break }
      let chunk = UnsafeRawBufferPointer(rebasing: part[0..<filled])
      try observe(chunk)
      let name = prefix + "." + String(format6: files.count + 1) + suffix
      try writer.addFile(named: name, size: Int64(filled), from: MemorySource(chunk))
      files.append(name)
      bytes += Int64(filled)
      if filled < part.count { break }
    }
  }
}

/// Reads from a buffer it does not own.
final class MemorySource: ByteSource {
  private let bytes: UnsafeRawBufferPointer
  private var offset = 0
  init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = min(buffer.count, bytes.count - offset)
    if n > 0 { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])) }
    offset += n
    return n
  }
}

extension String {
  /// Six-digit, zero-padded: part numbers sort as text.
  init(format6 number: Int) {
    let digits = String(number)
    self = String(repeating: "0", count: Swift.max(0, 6 - digits.count)) + digits
  }
}

