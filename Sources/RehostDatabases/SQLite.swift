import CSQLite
import Foundation
import RehostBase
import RehostCrypto

/// A SQLite database opened through the C API: just what snapshots, restores and their
/// checks need.
final class SQLiteDatabase {
  let path: String
  private var handle: OpaquePointer?

  init(path: String, readOnly: Bool) throws {
    self.path = path
    let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
    let status = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
    guard status == SQLITE_OK else {
      let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
      sqlite3_close(handle)
      throw RehostError(.failure, "cannot open the SQLite database \(path): \(message)",
                        hint: "check the path and that rehost may read it")
    }
    // Writers hold their lock briefly; wait for them instead of failing.
    sqlite3_busy_timeout(handle, 30_000)
  }

  deinit { sqlite3_close(handle) }

  static var libraryVersion: String { String(cString: sqlite3_libversion()) }

  /// Runs statements that return nothing.
  func execute(_ sql: String) throws {
    var error: UnsafeMutablePointer<CChar>?
    if sqlite3_exec(handle, sql, nil, nil, &error) != SQLITE_OK {
      let message = error.map { String(cString: $0) } ?? "unknown error"
      sqlite3_free(error)
      throw failure(message)
    }
  }

  /// Calls `row` for each result row of `sql`.
  func forEachRow(_ sql: String, _ row: (OpaquePointer) throws -> Void) throws {
    var statement: OpaquePointer?
    guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
      throw failure(String(cString: sqlite3_errmsg(handle)))
    }
    defer { sqlite3_finalize(statement) }
    while true {
      let status = sqlite3_step(statement)
      if status == SQLITE_DONE { return }
      guard status == SQLITE_ROW else { throw failure(String(cString: sqlite3_errmsg(handle))) }
      try row(statement)
    }
  }

  /// The first column of every row, as text.
  func strings(_ sql: String) throws -> [String] {
    var out: [String] = []
    try forEachRow(sql) { row in out.append(sqlite3_column_text(row, 0).map { String(cString: $0) } ?? "") }
    return out
  }

  /// Copies the whole database into `destination` with the online backup API in one
  /// step: one read transaction, so the copy is one point in time while writers wait
  /// (rollback journal) or go on (WAL).
  func backup(into destination: SQLiteDatabase) throws {
    guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
      throw destination.failure(String(cString: sqlite3_errmsg(destination.handle)))
    }
    var status: Int32
    repeat {
      status = sqlite3_backup_step(backup, -1)
      if status == SQLITE_BUSY || status == SQLITE_LOCKED { usleep(20_000) }
    } while status == SQLITE_OK || status == SQLITE_BUSY || status == SQLITE_LOCKED
    let finished = sqlite3_backup_finish(backup)
    guard status == SQLITE_DONE, finished == SQLITE_OK else {
      throw failure("online backup failed: \(String(cString: sqlite3_errstr(status == SQLITE_DONE ? finished : status)))")
    }
  }

  /// `PRAGMA integrity_check`; throws with SQLite's own findings unless it says "ok".
  func checkIntegrity() throws {
    let result = try strings("PRAGMA integrity_check")
    guard result == ["ok"] else {
      throw RehostError(.failure, "\(path) fails SQLite's integrity check: \(result.prefix(5).joined(separator: "; "))",
                        hint: "repair the database (sqlite3 .recover) before snapshotting it; no archive was written")
    }
  }

  /// Every user table with its row count and content checksum.
  ///
  /// The checksum is order-independent: per row, SHA-256 over each column's type tag and
  /// value (integers and floats as 8 big-endian bytes, text and blobs length-prefixed);
  /// the first 16 bytes of each row's digest are added modulo 2^128, shown as hex.
  func tableSummaries() throws -> [(name: String, rows: Int64, checksum: String)] {
    let names = try strings("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    return try names.map { name in
      var rows: Int64 = 0
      var high: UInt64 = 0, low: UInt64 = 0
      try forEachRow("SELECT * FROM \"\(name.replacingOccurrences(of: "\"", with: "\"\""))\"") { row in
        let digest = SQLiteDatabase.rowDigest(row)
        let (h, l) = (digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }, digest[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
        let (sum, carry) = low.addingReportingOverflow(l)
        low = sum
        high = high &+ h &+ (carry ? 1 : 0)
        rows += 1
      }
      return (name, rows, "rowsum128:" + String(high, radix: 16).leftPadded(16) + String(low, radix: 16).leftPadded(16))
    }
  }

  private static func rowDigest(_ row: OpaquePointer) -> [UInt8] {
    let hasher = SHA256()
    var bytes: [UInt8] = []
    func append64(_ value: UInt64) { for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }
    for column in 0..<sqlite3_column_count(row) {
      let type = sqlite3_column_type(row, column)
      bytes.append(UInt8(type))
      switch type {
      case SQLITE_INTEGER: append64(UInt64(bitPattern: sqlite3_column_int64(row, column)))
      case SQLITE_FLOAT: append64(sqlite3_column_double(row, column).bitPattern)
      case SQLITE_TEXT, SQLITE_BLOB:
        let pointer = type == SQLITE_TEXT ? UnsafeRawPointer(sqlite3_column_text(row, column)) : sqlite3_column_blob(row, column)
        let count = Int(sqlite3_column_bytes(row, column))
        append64(UInt64(count))
        if let pointer, count > 0 { bytes.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count)) }
      default: break  // NULL: the tag says it all
      }
    }
    hasher.update(bytes)
    return hasher.finalize()
  }

  private func failure(_ message: String) -> RehostError {
    RehostError(.failure, "SQLite (\(path)): \(message)")
  }
}

extension String {
  func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
