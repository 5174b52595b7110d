import Foundation
import RehostBase
import RehostFormat
import RehostStorage

/// PostgreSQL: a `psql` session opens a REPEATABLE READ transaction and exports its
/// snapshot; the table summaries are taken in that transaction and `pg_dump -Fc
/// --snapshot` dumps the very same snapshot, streamed into the archive. Restore pipes the
/// dump into `pg_restore --single-transaction`, so a failed load leaves the target empty.
struct PostgresMethod: DatabaseMethod {
  static let name = "pg_dump-custom"
  let location: DatabaseLocation

  func capture(into writer: DatabaseArchiveWriter) throws -> ManifestDatabase {
    let session = try PostgresConnection.session(location.argument)
    try session.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;")
    let snapshot = try session.value("SELECT pg_export_snapshot();")
    let server = try session.value("SELECT 'PostgreSQL ' || current_setting('server_version');")
    let dump = try Subprocess("pg_dump", ["--format=custom", "--compress=0", "--snapshot=\(snapshot)", "--no-password", "--dbname=\(location.argument)"])
    // The tables are measured in the exported snapshot's own session while pg_dump
    // streams the same snapshot into the archive.
    let measuring = BackgroundTask(name: "rehost-pg-tables") { try PostgresConnection.tableSummaries(session) }
    let parts = PartWriter(writer: writer, prefix: "dump", suffix: ".pgdump")
    do {
      try parts.copy(from: SubprocessOutput(dump))
      try dump.waitForSuccess(doing: "dumping \(location.redacted)")
    } catch {
      dump.terminate()
      _ = try? measuring.result()
      throw error
    }
    let tables = try measuring.result()
    try session.query("COMMIT;")
    try session.close()
    return ManifestDatabase(name: location.name, method: PostgresMethod.name, server: server, source: location.redacted,
                            tables: tables, files: parts.files, bytes: parts.bytes)
  }

  func loader(name: String) throws -> DatabaseLoader {
    let session = try PostgresConnection.session(location.argument)
    let objects = try session.value("""
      SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%';
      """)
    try session.close()
    guard objects == "0" else {
      throw RehostError(.refused, "the target database \(location.redacted) is not empty (\(objects) relations)",
                        hint: "create an empty database (createdb NAME) and restore into it")
    }
    let restore = try Subprocess("pg_restore", ["--exit-on-error", "--single-transaction", "--no-password", "--dbname=\(location.argument)"],
                                 stdin: .pipe, stdout: .null)
    return PipeLoader(tool: restore, what: "loading \(name) into \(location.redacted)") { expected in
      let session = try PostgresConnection.session(location.argument)
      try session.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;")
      let tables = try PostgresConnection.tableSummaries(session, like: expected)
      try session.close()
      return tables
    }
  }
}

/// libpq connection strings and the `psql` session rehost drives.
enum PostgresConnection {
  /// psql, quiet and unaligned, tab-separated, stopping at the first error; settings fixed
  /// so that rows render as the same text on every server (the checksums hash that text).
  static func session(_ conninfo: String) throws -> SQLSession {
    let session = try SQLSession(
      program: "psql", arguments: ["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "--no-password", "--dbname=\(conninfo)"])
    try session.open("""
      SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';
      SET extra_float_digits = 3; SET bytea_output = 'hex';
      """, target: "postgres:" + redact(conninfo))
    return session
  }

  /// Every ordinary table outside the system schemas: its row count and an
  /// order-independent checksum of its rows (``PostgresChecksum``), each table of
  /// `expected` in the kind its record names. Run inside the snapshot's transaction.
  static func tableSummaries(_ session: SQLSession, like expected: [ManifestDatabase.Table] = []) throws -> [ManifestDatabase.Table] {
    let kinds = try PostgresChecksum.recorded(in: expected, engine: "PostgreSQL")
    let version = Int(try session.value("SELECT current_setting('server_version_num');")) ?? 0
    let names = try session.query("""
      SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
      ORDER BY 1;
      """).map { $0[0] }
    return try names.map { name in
      let kind: PostgresChecksum
      if let recorded = kinds[name] {
        kind = recorded
        if kind == .hashrecord64 && version < PostgresChecksum.hashRecordVersion {
          throw RehostError(.failure, "the snapshot checksummed \(name) with hash_record_extended, which this PostgreSQL (\(version)) lacks",
                            hint: "restore into PostgreSQL 14 or newer")
        }
      } else {
        let plain = try session.value(PostgresChecksum.allColumnsHashable(name))
        kind = version >= PostgresChecksum.hashRecordVersion && plain == "t" ? .hashrecord64 : .md5sum64
      }
      let row = try session.query("SELECT count(*), coalesce(\(kind.sum), 0) FROM ONLY \(name) t;")
      guard let first = row.first, first.count == 2, let rows = Int64(first[0]) else {
        throw RehostError(.failure, "psql gave an unexpected answer counting \(name)")
      }
      return .init(name: name, rows: rows, checksum: kind.rawValue + ":" + first[1])
    }
  }

  /// `key=value` pairs of a conninfo string (values may be single-quoted).
  static func keywords(_ conninfo: String) -> [String: String] {
    var out: [String: String] = [:]
    var rest = Substring(conninfo)
    while true {
      rest = rest.drop { $0 == " " }
      guard let eq = rest.firstIndex(of: "=") else { break }
      let key = rest[..<eq].trimmingCharacters(in: .whitespaces)
      rest = rest[rest.index(after: eq)...].drop { $0 == " " }
      var value = ""
      if rest.first == "'" {
        rest = rest.dropFirst()
        while let c = rest.first {
          rest = rest.dropFirst()
          if c == "\\", let next = rest.first { value.append(next); rest = rest.dropFirst(); continue }
          if c == "'" { break }
          value.append(c)
        }
      } else {
        let end = rest.firstIndex(of: " ") ?? rest.endIndex
        value = String(rest[..<end])
        rest = rest[end...]
      }
      out[key] = value
    }
    return out
  }

  /// The conninfo without its password (keyword or URI form).
  static func redact(_ conninfo: String) -> String {
    if conninfo.contains("://") {
      return conninfo.replacingOccurrences(of: #"://([^:@/]*):[^@/]*@"#, with: "://$1:***@", options: .regularExpression)
        .replacingOccurrences(of: #"([?&])password=[^&]*"#, with: "$1password=***", options: .regularExpression)
    }
    return conninfo.replacingOccurrences(of: #"password\s*=\s*('([^'\\]|\\.)*'|\S*)"#, with: "password=***", options: .regularExpression)
  }
}

/// A loader that pipes the dump into a restore tool, then measures the target.
final class PipeLoader: DatabaseLoader {
  private let tool: Subprocess
  private let what: String
  private let measure: (_ expected: [ManifestDatabase.Table]) throws -> [ManifestDatabase.Table]
  private let observe: ((UnsafeRawBufferPointer) throws -> Void)?

  init(tool: Subprocess, what: String, observe: ((UnsafeRawBufferPointer) throws -> Void)? = nil,
       measure: @escaping (_ expected: [ManifestDatabase.Table]) throws -> [ManifestDatabase.Table]) {
    self.tool = tool
    self.what = what
    self.observe = observe
    self.measure = measure
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    try observe?(bytes)
    do {
      try tool.write(bytes)
    } catch {
      // The tool died: its own message says why.
      tool.closeInput()
      try tool.waitForSuccess(doing: what)
      throw error
    }
  }

  func finish(like expected: [ManifestDatabase.Table]) throws -> [ManifestDatabase.Table] {
    tool.closeInput()
    try tool.waitForSuccess(doing: what)
    return try measure(expected)
  }

  func commit() throws {}

  func abort() { tool.terminate() }
}

/// The order-independent table checksums rehost computes inside PostgreSQL, named in the
/// manifest by their prefix (docs/FORMAT.md).
enum PostgresChecksum: String, TableChecksumKind {
  /// The sum of `hash_record_extended(row, 0)`: each column hashed from its stored value by
  /// its type's own 64-bit hash, about four times faster than md5sum64, which spends most
  /// of its time writing every row out as text. Only for tables whose columns are all of
  /// the built-in scalar types listed below (or domains over them) with deterministic
  /// collations, and from PostgreSQL 14; any other table gets md5sum64.
  case hashrecord64
  /// The sum of the first 64 bits of the MD5 of each row's text form, as a signed integer.
  case md5sum64

  static let hashRecordVersion = 140000

  /// The SQL aggregate over `FROM ONLY table t`: the exact sum of 64-bit integers, as
  /// numeric. sum(bigint) gives it without a numeric per row (the server accumulates in
  /// 128 bits): 15–20 % faster on a million rows than summing each value cast to numeric,
  /// which archives before this recorded; the value, and its text, are the same.
  var sum: String {
    switch self {
    case .hashrecord64: return "sum(hash_record_extended(t, 0))"
    case .md5sum64: return "sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint)"
    }
  }

  /// Types whose extended hash reads the stored value alike on every server of the same
  /// byte order (text types only under deterministic collations).
  static let hashableTypes = ["bool", "int2", "int4", "int8", "oid", "float4", "float8", "numeric", "text", "varchar", "bpchar", "char",
                              "name", "bytea", "date", "time", "timestamp", "timestamptz", "interval", "uuid", "inet", "cidr", "macaddr", "jsonb"]

  /// `t` when every column of `table` (a quoted name) has one of ``hashableTypes``.
  static func allColumnsHashable(_ table: String) -> String {
    let types = hashableTypes.map { "'\($0)'" }.joined(separator: ", ")
    return """
      SELECT NOT EXISTS (SELECT 1 FROM pg_attribute a
        JOIN pg_type d ON d.oid = a.atttypid
        JOIN pg_type b ON b.oid = CASE WHEN d.typtype = 'd' THEN d.typbasetype ELSE d.oid END
        LEFT JOIN pg_collation c ON c.oid = a.attcollation
        WHERE a.attrelid = '\(table.replacingOccurrences(of: "'", with: "''"))'::regclass AND a.attnum > 0 AND NOT a.attisdropped
          AND (b.typnamespace <> 'pg_catalog'::regnamespace OR b.typname NOT IN (\(types)) OR NOT coalesce(c.collisdeterministic, true)));
      """
  }
}
