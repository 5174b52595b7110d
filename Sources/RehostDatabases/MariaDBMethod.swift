import Foundation
import RehostBase
import RehostFormat
import RehostStorage

/// MariaDB and MySQL: `mariadb-dump --single-transaction` (routines, triggers, events),
/// with the table summaries taken in a transaction that sees the same point in time.
///
/// mariadb-dump cannot share a snapshot, so rehost pins one: its session takes FLUSH
/// TABLES WITH READ LOCK (writers wait), starts its own consistent-snapshot transaction,
/// starts the dump and waits until the dump's transaction exists, then unlocks. Both
/// transactions began while nothing could commit, so they see the same data; writers
/// paused for that moment only. As a cross-check the rows in the dump's INSERT statements
/// are counted as they stream past and must equal the counts taken in the snapshot.
///
/// Consistency holds for transactional (InnoDB) tables, as with mariadb-dump itself.
struct MariaDBMethod: DatabaseMethod {
  static let name = "mariadb-dump"
  let location: DatabaseLocation

  func capture(into writer: DatabaseArchiveWriter) throws -> ManifestDatabase {
    let connection = MariaDBConnection(options: location.argument)
    guard connection.database != nil else {
      throw RehostError(.usage, "mysql:\(location.argument) names no database", hint: "end the options with the database name: mysql:--user=ca cadb")
    }
    let session = try connection.session()
    let server = try session.value("SELECT CONCAT('MariaDB/MySQL ', VERSION());")
    let ownThread = try session.value("SELECT CONNECTION_ID();")
    // Only transactional (InnoDB) tables are seen at one point in time; name the others.
    let nonTransactional = try session.query("""
      SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
      AND ENGINE <> 'InnoDB' ORDER BY TABLE_NAME;
      """)
    if !nonTransactional.isEmpty {
      let shown = nonTransactional.prefix(10).map { "\($0[0]) (\($0.count > 1 ? $0[1] : "?"))" }.joined(separator: ", ")
      writer.warn("database \(location.name): \(nonTransactional.count) table\(nonTransactional.count == 1 ? " is" : "s are") not InnoDB: \(shown)\(nonTransactional.count > 10 ? ", ..." : "")"
        + "; such tables are dumped as the dump reaches them, not at the snapshot's point in time: stop their writers during the snapshot, or convert them (ALTER TABLE ... ENGINE=InnoDB)")
    }
    try session.query("FLUSH TABLES WITH READ LOCK;")
    try session.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ; START TRANSACTION WITH CONSISTENT SNAPSHOT;")
    let before = Set(try session.query("SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX;").map { $0[0] })

    let dump = try Subprocess(findProgram(["mariadb-dump", "mysqldump"]), connection.flags + [
      "--single-transaction", "--routines", "--triggers", "--events", "--hex-blob", "--default-character-set=utf8mb4",
      "--", connection.database!,
    ])
    do {
      try waitForDumpTransaction(session, dump: dump, ignoring: before.union([ownThread]))
      try session.query("UNLOCK TABLES;")
      // The tables are measured in our consistent-snapshot transaction while the dump
      // streams into the archive.
      let measuring = BackgroundTask(name: "rehost-mariadb-tables") { () throws -> [ManifestDatabase.Table] in
        let tables = try MariaDBConnection.tableSummaries(session)
        try session.query("COMMIT;")
        try session.close()
        return tables
      }
      let counter = InsertRowCounter()
      let parts = PartWriter(writer: writer, prefix: "dump", suffix: ".sql")
      do {
        try parts.copy(from: SubprocessOutput(dump)) { counter.consume($0) }
        try dump.waitForSuccess(doing: "dumping \(location.redacted)")
      } catch {
        _ = try? measuring.result()
        throw error
      }
      let tables = try measuring.result()
      for table in tables where counter.rows[table.name, default: 0] != table.rows {
        throw RehostError(.failure, "the dump of \(location.name) holds \(counter.rows[table.name, default: 0]) rows of \(table.name) where its snapshot counted \(table.rows)",
                          hint: "the dump and the snapshot did not see the same data (a non-transactional table written to?); no archive was written")
      }
      return ManifestDatabase(name: location.name, method: MariaDBMethod.name, server: server, source: location.redacted,
                              tables: tables, files: parts.files, bytes: parts.bytes)
    } catch {
      dump.terminate()
      throw error
    }
  }

  /// Polls until a transaction that was not there before appears (the dump's), or the
  /// dump ends (a small dump can finish under our lock, which is just as consistent).
  /// InnoDB refreshes INNODB_TRX only when it was not read for 0.1 s, hence the pace.
  private func waitForDumpTransaction(_ session: SQLSession, dump: Subprocess, ignoring known: Set<String>) throws {
    for _ in 0..<300 {
      let threads = Set(try session.query("SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX;").map { $0[0] })
      if !threads.subtracting(known).isEmpty { return }
      if dump.hasEnded() { return }
      usleep(200_000)
    }
    throw RehostError(.failure, "\(dump.program) did not start its transaction within a minute",
                      hint: "check that it can connect with the same options: \(location.redacted)")
  }

  func loader(name: String) throws -> DatabaseLoader {
    let connection = MariaDBConnection(options: location.argument)
    guard connection.database != nil else {
      throw RehostError(.usage, "mysql:\(location.argument) names no database", hint: "end the options with the database name")
    }
    let session = try connection.session()
    let count = try session.value("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE();")
    try session.close()
    guard count == "0" else {
      throw RehostError(.refused, "the target database \(location.redacted) is not empty (\(count) tables)",
                        hint: "create an empty database (CREATE DATABASE name) and restore into it")
    }
    let client = try Subprocess(findProgram(["mariadb", "mysql"]), connection.flags + ["--batch", "--", connection.database!],
                                stdin: .pipe, stdout: .null)
    return PipeLoader(tool: client, what: "loading \(name) into \(location.redacted)") { expected in
      let session = try connection.session()
      try session.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ; START TRANSACTION WITH CONSISTENT SNAPSHOT;")
      let tables = try MariaDBConnection.tableSummaries(session, like: expected)
      try session.close()
      return tables
    }
  }
}

/// The `mariadb` client's options as given in `mysql:OPTIONS`.
struct MariaDBConnection {
  /// Everything but the database name (an option file first, as the client requires).
  let flags: [String]
  let database: String?

  init(options: String) {
    let words = options.split(separator: " ").map(String.init)
    let positional = words.filter { !$0.hasPrefix("-") }
    database = positional.last
    var flags = words.filter { $0.hasPrefix("-") }
    if let defaults = flags.firstIndex(where: { $0.hasPrefix("--defaults-file=") || $0.hasPrefix("--defaults-extra-file=") }) {
      flags.insert(flags.remove(at: defaults), at: 0)
    }
    self.flags = flags
  }

  var redacted: String {
    (flags.map { $0.hasPrefix("--password=") ? "--password=***" : ($0.hasPrefix("-p") && $0.count > 2 ? "-p***" : $0) } + (database.map { [$0] } ?? []))
      .joined(separator: " ")
  }

  /// A batch-mode client session with fixed settings, so rows render alike everywhere.
  func session() throws -> SQLSession {
    let session = try SQLSession(program: findProgram(["mariadb", "mysql"]),
                                 arguments: flags + ["--batch", "--skip-column-names", "--unbuffered", "--", database ?? ""])
    try session.open("SET time_zone = '+00:00'; SET NAMES utf8mb4;", target: "mysql:" + redacted)
    return session
  }

  /// Every base table: its row count and an order-independent checksum of its rows
  /// (``MariaDBChecksum``), each table of `expected` in the kind its record names.
  /// Run inside the snapshot's transaction.
  static func tableSummaries(_ session: SQLSession, like expected: [ManifestDatabase.Table] = []) throws -> [ManifestDatabase.Table] {
    let kinds = try MariaDBChecksum.recorded(in: expected, engine: "MariaDB")
    let names = try session.query("""
      SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME;
      """).map { $0[0] }
    return try names.map { name in
      let columns = try session.query("""
        SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '\(name.replacingOccurrences(of: "'", with: "''"))' ORDER BY ORDINAL_POSITION;
        """).map { MariaDBChecksum.Column(name: $0[0], type: $0.count > 1 ? $0[1] : "", nullable: $0.count > 2 && $0[2] == "YES") }
      let kind = kinds[name] ?? .crc32pair
      let row = try session.query("""
        SELECT COUNT(*), COALESCE(\(kind.sum(of: columns)), 0) FROM `\(name.replacingOccurrences(of: "`", with: "``"))`;
        """)
      guard let first = row.first, first.count == 2, let rows = Int64(first[0]) else {
        throw RehostError(.failure, "the mariadb client gave an unexpected answer counting \(name)")
      }
      return .init(name: name, rows: rows, checksum: kind.rawValue + ":" + first[1])
    }
  }
}

/// The order-independent table checksums rehost computes inside MariaDB, named in the
/// manifest by their prefix (docs/FORMAT.md).
enum MariaDBChecksum: String, TableChecksumKind {
  /// Per row, the CRC-32 of its bytes plus 2^32 times the CRC-32 of those bytes reversed,
  /// summed exactly: 64 bits a row, and CRC32 is hardware-fast in the server. A row's
  /// bytes are its columns as binary strings joined by 0x1f, long types (MEDIUM/LONG
  /// BLOB and TEXT, JSON) by their MD5 so that no row outgrows max_allowed_packet (a
  /// longer string would come back NULL and drop out of the sum), then, when columns may
  /// be NULL, one digit per such column saying whether it is.
  case crc32pair
  /// Written by rehost before crc32pair, and still checked on restore: the sum of the first
  /// 64 bits of the MD5 of JSON_ARRAY of the columns (binary ones as HEX). JSON_ARRAY and
  /// MD5 cost the server about eight times what crc32pair does.
  case md5sum64

  struct Column {
    let name: String
    /// information_schema's DATA_TYPE.
    let type: String
    let nullable: Bool
    var quoted: String { "`" + name.replacingOccurrences(of: "`", with: "``") + "`" }
  }

  /// The SQL aggregate over a table with these columns (NULL for a table with no rows).
  func sum(of columns: [Column]) -> String {
    switch self {
    case .crc32pair:
      var fields = columns.map { column in
        MariaDBChecksum.longTypes.contains(column.type.lowercased()) ? "MD5(\(column.quoted))" : "CAST(\(column.quoted) AS BINARY)"
      }
      let nullable = columns.filter(\.nullable)
      if !nullable.isEmpty { fields.append("CONCAT(" + nullable.map { "ISNULL(\($0.quoted))" }.joined(separator: ", ") + ")") }
      let row = "CONCAT_WS(0x1f, " + fields.joined(separator: ", ") + ")"
      return "SUM(CRC32(\(row)) + (CRC32(REVERSE(\(row))) << 32))"
    case .md5sum64:
      let values = columns.map { MariaDBChecksum.binaryTypes.contains($0.type.lowercased()) ? "HEX(\($0.quoted))" : $0.quoted }
      return "SUM(CAST(CONV(SUBSTRING(MD5(JSON_ARRAY(\(values.joined(separator: ", ")))), 1, 16), 16, 10) AS DECIMAL(65, 0)))"
    }
  }

  private static let longTypes: Set<String> = ["mediumblob", "longblob", "mediumtext", "longtext", "json"]
  private static let binaryTypes: Set<String> = ["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit", "geometry",
                                                 "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection"]
}
