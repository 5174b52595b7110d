import Foundation
import RehostBase
import RehostFormat
import Testing

@testable import RehostDatabases

@Suite("Database locations")
struct DatabaseLocationTests {
  @Test("engines, given and derived names")
  func parsing() throws {
    let sqlite = try DatabaseLocation(parsing: "sqlite:/var/lib/ca/ca.sqlite")
    #expect(sqlite.engine == .sqlite && sqlite.argument == "/var/lib/ca/ca.sqlite" && sqlite.name == "ca")
    let pg = try DatabaseLocation(parsing: "postgres:host=/run/postgresql dbname=cacert user=ca")
    #expect(pg.engine == .postgres && pg.name == "cacert")
    let uri = try DatabaseLocation(parsing: "postgres:postgresql://ca:secret@db.example/webdb?sslmode=require")
    #expect(uri.name == "webdb")
    let my = try DatabaseLocation(parsing: "web=mysql:--defaults-extra-file=/etc/rehost/my.cnf cacert")
    #expect(my.engine == .mysql && my.name == "web" && my.argument == "--defaults-extra-file=/etc/rehost/my.cnf cacert")
    #expect(DatabaseLocation.looksLikeDatabase("web=mysql:x db"))
    #expect(DatabaseLocation.looksLikeDatabase("sqlite:a.db"))
    #expect(!DatabaseLocation.looksLikeDatabase("/etc/ssl"))
    #expect(!DatabaseLocation.looksLikeDatabase("dir=with=equals"))
    #expect(!DatabaseLocation.looksLikeDatabase("./sqlite:odd-dir"))
  }

  @Test("bad locations are refused with a usage error", arguments: ["oracle:x", "sqlite:", "../x=sqlite:a.db", "postgres:host=/tmp"])
  func refused(text: String) {
    #expect(throws: RehostError.self) { try DatabaseLocation(parsing: text) }
  }

  @Test("passwords never reach the manifest")
  func redaction() throws {
    #expect(try DatabaseLocation(parsing: "postgres:dbname=ca password=s3cret user=x").redacted == "postgres:dbname=ca password=*** user=x")
    #expect(try DatabaseLocation(parsing: "postgres:dbname=ca password='a b\\' c' user=x").redacted == "postgres:dbname=ca password=*** user=x")
    #expect(try DatabaseLocation(parsing: "postgres:postgresql://ca:s3cret@db/ca?password=x&sslmode=require").redacted
            == "postgres:postgresql://ca:***@db/ca?password=***&sslmode=require")
    #expect(try DatabaseLocation(parsing: "mysql:--user=ca --password=s3cret -ps3cret cadb").redacted == "mysql:--user=ca --password=*** -p*** cadb")
  }

  @Test("an option file goes first, as the mariadb client requires")
  func optionFileFirst() {
    let c = MariaDBConnection(options: "--socket=/s --defaults-extra-file=/etc/my.cnf ca")
    #expect(c.flags == ["--defaults-extra-file=/etc/my.cnf", "--socket=/s"] && c.database == "ca")
  }
}

@Suite("mysqldump row counting")
struct InsertRowCounterTests {
  static let dump = """
    /*M!999999\\- enable the sandbox mode */
    -- MariaDB dump 10.19
    CREATE TABLE `users` (
      `id` int NOT NULL,
      `name` text
    );
    INSERT INTO `users` VALUES
    (1,'O\\'Brien (senior); INSERT INTO `users` VALUES (9)'),
    (2,'back\\\\slash\\\\'),(3,NULL),(4,'new\\nline ('),
    (5,0x28292827);
    INSERT INTO `empty_then_full` VALUES (1),(2);
    INSERT INTO `users` VALUES (6,'x');
    /*!50003 CREATE TRIGGER t AFTER INSERT ON users FOR EACH ROW INSERT INTO log VALUES (1) */;;
    -- INSERT INTO `users` VALUES (7) in a comment line is not a statement
    """

  @Test("tuples are counted per table; quotes, escapes, parentheses and semicolons inside strings do not count")
  func counts() {
    let counter = InsertRowCounter()
    Array(Self.dump.utf8).withUnsafeBytes { counter.consume($0) }
    #expect(counter.rows == ["users": 6, "empty_then_full": 2])
  }

  @Test("the count does not depend on where the stream is cut")
  func anySplit() {
    let bytes = Array(Self.dump.utf8)
    for cut in 1..<bytes.count {
      let counter = InsertRowCounter()
      bytes[0..<cut].withUnsafeBytes { counter.consume($0) }
      bytes[cut...].withUnsafeBytes { counter.consume($0) }
      #expect(counter.rows == ["users": 6, "empty_then_full": 2], "cut at \(cut)")
    }
    let counter = InsertRowCounter()
    for byte in bytes { [byte].withUnsafeBytes { counter.consume($0) } }
    #expect(counter.rows == ["users": 6, "empty_then_full": 2])
  }

  @Test("random dumps, cut into random pieces, count what was written")
  func randomDumps() {
    var rng = SystemRandomNumberGenerator()
    let alphabet = Array("ab (),;'`\\\nINSERT INTO VALUES".utf8)
    for _ in 0..<200 {
      var expected: [String: Int64] = [:]
      var dump = "-- MariaDB dump\nCREATE TABLE `t` (`a` text);\n"
      for _ in 0..<Int.random(in: 1...6, using: &rng) {
        let table = ["t", "u", "odd;name", "v(1)"].randomElement(using: &rng)!
        let tuples = (0..<Int.random(in: 1...20, using: &rng)).map { _ -> String in
          let values = (0..<Int.random(in: 1...4, using: &rng)).map { _ -> String in
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: return "NULL"
            case 1: return "0x" + String(Int.random(in: 0..<0xffff, using: &rng), radix: 16)
            case 2: return String(Int.random(in: -99...99, using: &rng))
            default:
              let text = (0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
              var escaped = ""
              for byte in text {
                switch byte {
                case 0x27: escaped += "\\'"
                case 0x5c: escaped += "\\\\"
                case 0x0a: escaped += "\\n"
                default: escaped += String(UnicodeScalar(byte))
                }
              }
              return "'" + escaped + "'"
            }
          }
          return "(" + values.joined(separator: ",") + ")"
        }
        expected[table, default: 0] += Int64(tuples.count)
        dump += "INSERT INTO `\(table)` VALUES " + tuples.joined(separator: Bool.random(using: &rng) ? "," : ",\n") + ";\n"
        if Bool.random(using: &rng) { dump += "/*!40000 ALTER TABLE `\(table)` ENABLE KEYS */;\n-- INSERT INTO `t` VALUES (1);\n" }
      }
      let bytes = Array(dump.utf8)
      let counter = InsertRowCounter()
      var offset = 0
      while offset < bytes.count {
        let length = min(bytes.count - offset, Int.random(in: 1...64, using: &rng))
        bytes[offset..<offset + length].withUnsafeBytes { counter.consume($0) }
        offset += length
      }
      #expect(counter.rows == expected, "\(dump)")
    }
  }
}

@Suite("Dump parts")
struct PartWriterTests {
  final class Collector: DatabaseArchiveWriter {
    var files: [(String, [UInt8])] = []
    func addFile(named name: String, size: Int64, from source: ByteSource) throws {
      var bytes = [UInt8](repeating: 0, count: Int(size))
      let n = try bytes.withUnsafeMutableBytes { try source.readFully(into: $0) }
      #expect(n == Int(size))
      files.append((name, bytes))
    }
    func warn(_ message: String) {}
  }

  final class Bytes: ByteSource {
    let data: [UInt8]
    var offset = 0
    init(_ data: [UInt8]) { self.data = data }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
      let n = min(buffer.count, data.count - offset, 1000)  // short reads, like a pipe
      for i in 0..<n { buffer[i] = data[offset + i] }
      offset += n
      return n
    }
  }

  @Test("a stream is cut into numbered parts that put back together give it whole",
        arguments: [0, 1, PartWriter.partSize - 1, PartWriter.partSize, PartWriter.partSize + 1, 2 * PartWriter.partSize + 5])
  func parts(length: Int) throws {
    let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
    let collector = Collector()
    let writer = PartWriter(writer: collector, prefix: "dump", suffix: ".sql")
    var observed = 0
    try writer.copy(from: Bytes(data)) { observed += $0.count }
    #expect(observed == length && writer.bytes == Int64(length))
    #expect(collector.files.flatMap(\.1) == data)
    let names: [String] = collector.files.map(\.0)
    let expectedNames: [String] = (0..<names.count).map { index in "dump." + String(format: "%06d", index + 1) + ".sql" }
    #expect(names == expectedNames)
    let expectedCount: Int = (length + PartWriter.partSize - 1) / PartWriter.partSize
    #expect(names.count == expectedCount)
    #expect(writer.files == collector.files.map(\.0))
  }
}

@Suite("Table checks")
struct TableCheckTests {
  @Test("missing, extra and differing tables are each named")
  func compare() {
    let expected: [ManifestDatabase.Table] = [.init(name: "a", rows: 1, checksum: "x"), .init(name: "b", rows: 2, checksum: "y"), .init(name: "c", rows: 3, checksum: "z")]
    let actual: [ManifestDatabase.Table] = [.init(name: "a", rows: 1, checksum: "x"), .init(name: "b", rows: 2, checksum: "q"), .init(name: "d", rows: 0, checksum: "w")]
    let checks = Databases.compare(expected: expected, actual: actual)
    #expect(checks.map(\.passed) == [true, false, false, false])
    #expect(checks.map(\.summary) == [
      "a: 1 rows, checksum equal", "b: checksum q instead of y", "c: missing from the restored database (3 rows expected)",
      "d: in the restored database but not in the snapshot",
    ])
  }

  @Test("a manifest database line reads back as written")
  func manifestLine() throws {
    let record = ManifestDatabase(name: "ca", method: "pg_dump-custom", server: "PostgreSQL 15.18", source: "postgres:dbname=ca",
                                  tables: [.init(name: "public.\"odd\"\"name\"", rows: 7, checksum: "md5sum64:-12")],
                                  files: ["dump.000001.pgdump"], bytes: 1234)
    #expect(try ManifestDatabase.parse(record.jsonLine()) == record)
    #expect(record.jsonLine().hasPrefix(ManifestDatabase.linePrefix))
  }
}

@Suite("Table checksum kinds")
struct ChecksumKindTests {
  @Test("a restore measures each table with the kind its record names; an unknown kind is a corrupt archive")
  func recordedKinds() throws {
    let expected: [ManifestDatabase.Table] = [.init(name: "old", rows: 1, checksum: "md5sum64:-12"),
                                              .init(name: "new", rows: 2, checksum: "crc32pair:99")]
    #expect(try MariaDBChecksum.recorded(in: expected, engine: "MariaDB") == ["old": .md5sum64, "new": .crc32pair])
    #expect(try PostgresChecksum.recorded(in: [.init(name: "t", rows: 0, checksum: "hashrecord64:0")], engine: "PostgreSQL") == ["t": .hashrecord64])
    for bad in ["crc32pair:1", "sha1:1", "nocolon"] {
      #expect(throws: RehostError.self) { try PostgresChecksum.recorded(in: [.init(name: "t", rows: 0, checksum: bad)], engine: "PostgreSQL") }
    }
  }

  @Test("MariaDB's row string: binary casts, long types by MD5, NULL flags for nullable columns; the old kind as documented")
  func mariadbExpressions() {
    let columns: [MariaDBChecksum.Column] = [.init(name: "id", type: "int", nullable: false), .init(name: "doc", type: "LONGTEXT", nullable: true),
                                             .init(name: "o`dd", type: "varbinary", nullable: true)]
    let row = "CONCAT_WS(0x1f, CAST(`id` AS BINARY), MD5(`doc`), CAST(`o``dd` AS BINARY), CONCAT(ISNULL(`doc`), ISNULL(`o``dd`)))"
    #expect(MariaDBChecksum.crc32pair.sum(of: columns) == "SUM(CRC32(\(row)) + (CRC32(REVERSE(\(row))) << 32))")
    #expect(MariaDBChecksum.md5sum64.sum(of: columns)
      == "SUM(CAST(CONV(SUBSTRING(MD5(JSON_ARRAY(`id`, `doc`, HEX(`o``dd`))), 1, 16), 16, 10) AS DECIMAL(65, 0)))")
  }
}
