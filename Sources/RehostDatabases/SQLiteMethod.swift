import Foundation
import RehostBase
import RehostFormat
import RehostStorage

/// SQLite: the online backup API into a temporary copy (the one method that needs one;
/// it is removed whatever happens), `PRAGMA integrity_check` and the table summaries on
/// that copy, then the copy streamed into the archive as `database.sqlite`.
struct SQLiteMethod: DatabaseMethod {
  static let name = "sqlite-backup"
  static let fileName = "database.sqlite"
  let location: DatabaseLocation

  func capture(into writer: DatabaseArchiveWriter) throws -> ManifestDatabase {
    let path = location.argument
    guard FileManager.default.fileExists(atPath: path) else {
      throw RehostError(.usage, "the SQLite database \(path) does not exist", hint: "check the path given as sqlite:PATH")
    }
    let copyPath = SpoolFile.defaultDirectory + "/rehost-sqlite-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    // The copy is removed whatever happens; should the process have to end before this
    // run unwinds (Interruption), the copy itself goes, its journal files are SQLite's
    // short-lived own.
    let cleanup = Interruption.shared.register(removing: copyPath)
    defer {
      for suffix in ["", "-journal", "-wal", "-shm"] { unlink(copyPath + suffix) }
      Interruption.shared.unregister(cleanup)
    }
    let tables: [ManifestDatabase.Table]
    do {
      do {
        let source = try SQLiteDatabase(path: path, readOnly: true)
        let copy = try SQLiteDatabase(path: copyPath, readOnly: false)
        try source.backup(into: copy)
        // The copy leaves WAL mode so that it is one self-contained file.
        try copy.execute("PRAGMA journal_mode = DELETE")
      }
      let copy = try SQLiteDatabase(path: copyPath, readOnly: true)
      try copy.checkIntegrity()
      tables = try copy.tableSummaries().map { .init(name: $0.name, rows: $0.rows, checksum: $0.checksum) }
    } catch let error as RehostError {
      // Name the database the user gave, not the temporary copy.
      throw RehostError(.failure, "cannot snapshot the SQLite database \(path): \(error.message.replacingOccurrences(of: copyPath, with: "its copy"))",
                        hint: "check it with `sqlite3 \(path) 'PRAGMA integrity_check'` and repair it (.recover) first; no archive was written")
    }
    let file = try FileSource(path: copyPath)
    let size = try file.size()
    try writer.addFile(named: SQLiteMethod.fileName, size: size, from: file)
    return ManifestDatabase(name: location.name, method: SQLiteMethod.name, server: "SQLite " + SQLiteDatabase.libraryVersion,
                            source: location.redacted, tables: tables, files: [SQLiteMethod.fileName], bytes: size)
  }

  func loader(name: String) throws -> DatabaseLoader {
    let path = location.argument
    if FileManager.default.fileExists(atPath: path) {
      throw RehostError(.refused, "\(path) already exists",
                        hint: "a database is restored into a new file only; move the old one away or name another path")
    }
    return try SQLiteLoader(path: path)
  }
}

/// Writes the database file under a temporary name, checks it, and renames it into
/// place only on ``commit()``.
final class SQLiteLoader: DatabaseLoader {
  private let file: AtomicFile

  init(path: String) throws {
    file = try AtomicFile(path: path, mode: 0o600)
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws { try file.write(bytes) }

  func finish(like expected: [ManifestDatabase.Table]) throws -> [ManifestDatabase.Table] {
    try file.finish()
    let database = try SQLiteDatabase(path: file.temporaryPath, readOnly: false)
    try database.checkIntegrity()
    return try database.tableSummaries().map { .init(name: $0.name, rows: $0.rows, checksum: $0.checksum) }
  }

  func commit() throws { try file.commit() }

  func abort() {
    file.abort()
    unlink(file.temporaryPath + "-journal")
  }
}
