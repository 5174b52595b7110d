import Foundation
import Testing

/// Table lines a restore prints: `  NAME: N rows, checksum equal`.
private func restoredTables(_ output: String) -> [String: Int] {
  var out: [String: Int] = [:]
  for line in output.split(separator: "\n") where line.hasSuffix(" rows, checksum equal") {
    let parts = line.trimmingCharacters(in: .whitespaces).dropLast(" rows, checksum equal".count).split(separator: ": ")
    if parts.count == 2, let rows = Int(parts[1]) { out[String(parts[0])] = rows }
  }
  return out
}

/// Starts `client` reading `sql` (one transaction) over and over, in a process group of
/// its own (killed by the caller through writer.pid).
private func startWriter(_ box: Sandbox, sql: String, client: String) throws {
  try box.write("writer.sql", Array(sql.replacingOccurrences(of: "\n", with: " ").utf8))
  try box.write("writer.sh", Array("yes \"$(cat writer.sql)\" | \(client)\n".utf8))
  try box.mustSh("setsid bash writer.sh >writer.log 2>&1 & echo $! > writer.pid")
}

private func integer(_ result: RunResult) -> Int? {
  Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
}

@Suite("Databases: SQLite")
struct SQLiteDatabaseTests {
  /// One ledger row and one audit row per transaction, as fast as it can, until killed.
  static let writer = """
    import sqlite3, sys
    db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
    while True:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("INSERT INTO ledger(note) VALUES ('live')").lastrowid
        db.execute("INSERT INTO audit(ledger_id, at) VALUES (?, 'live')", (row,))
        db.execute("COMMIT")
    """

  func makeDatabase(_ box: Sandbox) throws {
    try box.mustSh("""
      sqlite3 ca.db "PRAGMA journal_mode=WAL;
        CREATE TABLE ledger(id INTEGER PRIMARY KEY, note TEXT, amount REAL, blob BLOB);
        CREATE TABLE audit(id INTEGER PRIMARY KEY, ledger_id INTEGER REFERENCES ledger(id), at TEXT);
        CREATE INDEX audit_ledger ON audit(ledger_id);
        WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 50000)
          INSERT INTO ledger(note, amount, blob) SELECT 'row ' || i, i * 0.25, randomblob(16) FROM s;
        INSERT INTO audit(ledger_id, at) SELECT id, 'base' FROM ledger;" >/dev/null
      """)
  }

  @Test("a snapshot taken while another process inserts restores one point in time, whole")
  func snapshotUnderLiveWriter() throws {
    let box = try Sandbox()
    try box.keygen("op")
    try makeDatabase(box)
    try box.write("writer.py", Array(Self.writer.utf8))
    try box.mustSh("setsid python3 writer.py ca.db >writer.log 2>&1 & echo $! > writer.pid")
    defer { _ = try? box.sh("kill -9 -- -$(cat writer.pid) 2>/dev/null") }
    // Wait until the writer is well under way.
    for _ in 0..<100 where (integer(try box.sh("sqlite3 ca.db 'SELECT count(*) FROM ledger'")) ?? 0) < 50_500 {
      usleep(50_000)
    }
    let snap = try box.rehost("snapshot", "sqlite:ca.db", "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 0, "\(snap.output)")
    // The writer went on during and after the snapshot.
    usleep(300_000)
    try box.mustSh("kill -9 -- -$(cat writer.pid)")
    let after = integer(try box.sh("sqlite3 ca.db 'SELECT count(*) FROM ledger'")) ?? 0

    let restore = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub", "--db", "ca=sqlite:restored.db")
    #expect(restore.status == 0, "\(restore.output)")
    let tables = restoredTables(restore.stdout)
    #expect(Set(tables.keys) == ["ledger", "audit"], "\(restore.output)")
    #expect(try box.sh("sqlite3 restored.db 'PRAGMA integrity_check'").stdout == "ok\n")
    // The counts restore reported (equal to the manifest, or it would have failed) are
    // what the restored file holds.
    let ledger = integer(try box.sh("sqlite3 restored.db 'SELECT count(*) FROM ledger'"))
    let audit = integer(try box.sh("sqlite3 restored.db 'SELECT count(*) FROM audit'"))
    #expect(ledger == tables["ledger"] && audit == tables["audit"])
    // One point in time: every transaction wrote one row to each table, so the two
    // counts move together; and the writer was caught mid-flight.
    #expect(ledger == audit)
    #expect((ledger ?? 0) > 50_000 && (ledger ?? 0) < after, "restored \(ledger ?? -1), source had \(after) at the end")
    #expect(try box.sh("sqlite3 restored.db 'SELECT count(*) FROM audit a LEFT JOIN ledger l ON l.id = a.ledger_id WHERE l.id IS NULL'").stdout == "0\n")
  }

  @Test("restore refuses an existing file and an unknown database name; the archive's files and database restore together")
  func restoreRules() throws {
    let box = try Sandbox()
    try box.keygen("op")
    try makeDatabase(box)
    try box.mustSh("mkdir -p etc/ca && echo serial > etc/ca/serial")
    let snap = try box.rehost("snapshot", "etc/ca", "cadb=sqlite:ca.db", "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 0, "\(snap.output)")

    try box.mustSh("echo occupied > taken.db")
    let taken = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub", "--db", "cadb=sqlite:taken.db")
    #expect(taken.status == 6, "\(taken.output)")
    #expect(taken.stderr.contains("taken.db already exists"))
    #expect(try box.sh("cat taken.db").stdout == "occupied\n")

    let unknown = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub", "--to", "out", "--db", "other=sqlite:o.db")
    #expect(unknown.status == 2, "\(unknown.output)")
    #expect(unknown.stderr.contains("no database named other") && unknown.stderr.contains("it holds: cadb"))
    try box.expectNothingRestored("out")
    #expect(!box.exists("o.db"))

    let wrongEngine = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub", "--db", "cadb=postgres:dbname=x")
    #expect(wrongEngine.status == 2, "\(wrongEngine.output)")
    #expect(wrongEngine.stderr.contains("taken by sqlite-backup"))

    let both = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub", "--to", "out", "--db", "cadb=sqlite:new.db")
    #expect(both.status == 0, "\(both.output)")
    #expect(try box.sh("cat out/ca/serial && sqlite3 new.db 'SELECT count(*) FROM ledger'").stdout == "serial\n50000\n")
    // What went into the directory is counted, not the database's dump (which went to new.db).
    #expect(both.stdout.contains("restored 2 entries (1 files, 7 B) into "), "\(both.stdout)")
    // Files only: the database is checked and named, not restored.
    let filesOnly = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub", "--to", "out2")
    #expect(filesOnly.status == 0, "\(filesOnly.output)")
    #expect(filesOnly.stdout.contains("database cadb was checked but not restored"))
    #expect(filesOnly.stdout.contains("restored 2 entries (1 files, 7 B) into "), "\(filesOnly.stdout)")
    #expect(!box.exists("out2/.rehost"))
  }

  @Test("an unreachable server fails the snapshot naming it, password removed; no archive is left")
  func unreachableServers() throws {
    let box = try Sandbox()
    try box.keygen("op")
    for (source, named) in [("pg=postgres:host=/nonexistent dbname=ca password=s3cret", "postgres:host=/nonexistent dbname=ca password=***"),
                            ("my=mysql:--socket=/nonexistent --password=s3cret ca", "mysql:--socket=/nonexistent --password=*** ca")] {
      let snap = try box.rehost("snapshot", source, "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
      #expect(snap.status == 1, "\(snap.output)")
      #expect(snap.stderr.contains("cannot open a session on \(named)") && !snap.stderr.contains("s3cret"), "\(snap.stderr)")
      #expect(try box.sh("ls -A | grep -c rehost || true").stdout == "0\n")
    }
  }

  @Test("a corrupt SQLite source fails the snapshot before anything is written")
  func corruptSource() throws {
    let box = try Sandbox()
    try box.keygen("op")
    try box.mustSh("""
      sqlite3 bad.db "CREATE TABLE t(x); WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 5000) INSERT INTO t SELECT randomblob(100) FROM s;"
      # Scribble over a page in the middle of the table's b-tree.
      dd if=/dev/urandom of=bad.db bs=4096 seek=20 count=2 conv=notrunc 2>/dev/null
      """)
    let snap = try box.rehost("snapshot", "sqlite:bad.db", "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 1, "\(snap.output)")
    #expect(snap.stderr.contains("bad.db"))
    #expect(!box.exists("s.rehost") && !box.exists("s.rehost.seal"))
    #expect(try box.sh("ls -A | grep -c tmp- || true").stdout == "0\n")
  }
}

/// The schema of a CA's web database: users, their certificates, revocations; foreign
/// keys, an index, a trigger; 50,000 users, 200,000 certificates, 20,000 revocations.
private let postgresSchema = """
  CREATE TABLE users(id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, name text, created timestamptz NOT NULL DEFAULT now());
  CREATE TABLE certificates(serial bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id), subject text NOT NULL,
    pem text NOT NULL, not_after timestamptz NOT NULL, fingerprint bytea, score double precision, revoked boolean NOT NULL DEFAULT false);
  CREATE INDEX certificates_user ON certificates(user_id);
  CREATE TABLE revocations(serial bigint PRIMARY KEY REFERENCES certificates(serial), revoked_at timestamptz NOT NULL DEFAULT now(), reason int NOT NULL);
  CREATE FUNCTION mark_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE certificates SET revoked = true WHERE serial = NEW.serial; RETURN NEW; END $$;
  CREATE TRIGGER revocations_mark AFTER INSERT ON revocations FOR EACH ROW EXECUTE FUNCTION mark_revoked();
  INSERT INTO users(email, name) SELECT 'user' || g || '@example.org', 'User ' || g FROM generate_series(1, 50000) g;
  INSERT INTO certificates(user_id, subject, pem, not_after, fingerprint, score)
    SELECT 1 + g % 50000, 'CN=host' || g || '.example.org', repeat('MIIB', 40), now() + interval '1 year', sha256(g::text::bytea), g / 7.0
    FROM generate_series(1, 200000) g;
  INSERT INTO revocations(serial, reason) SELECT g, g % 10 FROM generate_series(1, 200000, 10) g;
  """

/// One user, one certificate and one revocation per transaction, until killed.
private let postgresWriter = """
  BEGIN; INSERT INTO users(email) VALUES ('live-' || gen_random_uuid());
  INSERT INTO certificates(user_id, subject, pem, not_after) VALUES (currval('users_id_seq'), 'CN=live', 'x', now());
  INSERT INTO revocations(serial, reason) VALUES (currval('certificates_serial_seq'), 1); COMMIT;
  """

@Suite("Databases: PostgreSQL (real server)",
       .enabled(if: DatabaseServers.postgres.isRunning, Comment(rawValue: DatabaseServers.postgres.reason)))
struct PostgresDatabaseTests {
  func makeDatabase(_ box: Sandbox) throws -> String {
    let name = uniqueDatabaseName("ca")
    try box.write("schema.sql", Array(postgresSchema.utf8))
    try box.mustSh("\(DatabaseServers.psql) -c 'CREATE DATABASE \(name)' && \(DatabaseServers.psql) -d \(name) -f schema.sql")
    return name
  }

  func count(_ box: Sandbox, _ database: String, _ sql: String) throws -> Int? {
    integer(try box.sh("\(DatabaseServers.psql) -d \(database) -At -c \"\(sql)\""))
  }

  @Test("snapshot under concurrent writes, restore into a new database: every table's count and checksum equal")
  func snapshotUnderWrites() throws {
    let box = try Sandbox()
    try box.keygen("op")
    let source = try makeDatabase(box)
    try startWriter(box, sql: postgresWriter, client: "\(DatabaseServers.psql) -d \(source)")
    defer { _ = try? box.sh("kill -9 -- -$(cat writer.pid) 2>/dev/null") }
    for _ in 0..<100 where (try count(box, source, "SELECT count(*) FROM users") ?? 0) < 50_200 { usleep(50_000) }

    let snap = try box.rehost("snapshot", "cadb=postgres:" + DatabaseServers.postgresConninfo(source),
                              "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 0, "\(snap.output)")
    try box.mustSh("kill -9 -- -$(cat writer.pid)")
    let usersAtEnd = try count(box, source, "SELECT count(*) FROM users") ?? 0

    let target = uniqueDatabaseName("restored")
    try box.mustSh("\(DatabaseServers.psql) -c 'CREATE DATABASE \(target)'")
    let restore = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub",
                                 "--db", "cadb=postgres:" + DatabaseServers.postgresConninfo(target))
    #expect(restore.status == 0, "\(restore.output)")
    let tables = restoredTables(restore.stdout)
    #expect(Set(tables.keys) == ["public.users", "public.certificates", "public.revocations"], "\(restore.output)")
    let users = try count(box, target, "SELECT count(*) FROM users")
    let certificates = try count(box, target, "SELECT count(*) FROM certificates")
    let revocations = try count(box, target, "SELECT count(*) FROM revocations")
    #expect(users == tables["public.users"] && certificates == tables["public.certificates"] && revocations == tables["public.revocations"])
    // One point in time: each writer transaction added one row to every table.
    #expect(certificates.map { $0 - 150_000 } == users && revocations.map { $0 + 30_000 } == users)
    #expect((users ?? 0) > 50_000 && (users ?? 0) < usersAtEnd, "restored \(users ?? -1) users; source had \(usersAtEnd) at the end")
    // The schema came back with its index, trigger and foreign keys.
    #expect(try count(box, target, "SELECT count(*) FROM pg_indexes WHERE indexname = 'certificates_user'") == 1)
    #expect(try count(box, target, "SELECT count(*) FROM pg_trigger WHERE tgname = 'revocations_mark'") == 1)
    #expect(try count(box, target, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'") == 2)

    // Restoring again into the now non-empty database is refused.
    let again = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub",
                               "--db", "cadb=postgres:" + DatabaseServers.postgresConninfo(target))
    #expect(again.status == 6, "\(again.output)")
    #expect(again.stderr.contains("is not empty"))
  }

  @Test("pg_dump exiting non-zero or killed mid-stream fails the snapshot; no archive is left", arguments: ["exit 3", "kill -9 $$"])
  func dumpToolFails(ending: String) throws {
    let box = try Sandbox()
    try box.keygen("op")
    let source = try makeDatabase(box)
    // A pg_dump that passes 9 MB of the real dump (more than one archive part), then dies.
    try box.mustSh("""
      mkdir bin && cat > bin/pg_dump <<'EOF'
      #!/bin/bash
      /usr/bin/pg_dump "$@" | head -c 9000000
      \(ending)
      EOF
      chmod +x bin/pg_dump
      """)
    let snap = try box.sh("PATH=\"$PWD/bin:$PATH\" '\(rehostBinary)' snapshot cadb=postgres:'\(DatabaseServers.postgresConninfo(source))' --out s.rehost --recipient op.pub --sign op.key")
    #expect(snap.status == 1, "\(snap.output)")
    #expect(snap.stderr.contains(ending == "exit 3" ? "pg_dump exited with status 3" : "pg_dump was killed by signal 9"), "\(snap.stderr)")
    #expect(!box.exists("s.rehost") && !box.exists("s.rehost.seal"))
    #expect(try box.sh("ls -A | grep -c 'tmp-' || true").stdout == "0\n")
  }
}

private let mariadbSchema = """
  CREATE TABLE users(id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(200) NOT NULL UNIQUE, name VARCHAR(200),
    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB;
  CREATE TABLE certificates(serial BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT NOT NULL, subject VARCHAR(200) NOT NULL,
    pem TEXT NOT NULL, not_after DATETIME NOT NULL, fingerprint VARBINARY(32), score DOUBLE, revoked BOOLEAN NOT NULL DEFAULT FALSE,
    INDEX certificates_user (user_id), FOREIGN KEY (user_id) REFERENCES users(id)) ENGINE=InnoDB;
  CREATE TABLE revocations(serial BIGINT PRIMARY KEY, revoked_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, reason INT NOT NULL,
    FOREIGN KEY (serial) REFERENCES certificates(serial)) ENGINE=InnoDB;
  CREATE TRIGGER revocations_mark AFTER INSERT ON revocations FOR EACH ROW UPDATE certificates SET revoked = TRUE WHERE serial = NEW.serial;
  INSERT INTO users(email, name) SELECT CONCAT('user', seq, '@example.org'), CONCAT('User ', seq, ' O''Brien\\\\\\t(x);') FROM seq_1_to_50000;
  INSERT INTO certificates(user_id, subject, pem, not_after, fingerprint, score)
    SELECT 1 + seq % 50000, CONCAT('CN=host', seq, '.example.org'), REPEAT('MIIB', 40), NOW() + INTERVAL 1 YEAR, UNHEX(SHA2(seq, 256)), seq / 7
    FROM seq_1_to_200000;
  INSERT INTO revocations(serial, reason) SELECT seq, seq % 10 FROM seq_1_to_200000_step_10;
  """

private let mariadbWriter = """
  START TRANSACTION; INSERT INTO users(email) VALUES (CONCAT('live-', UUID()));
  INSERT INTO certificates(user_id, subject, pem, not_after) VALUES (LAST_INSERT_ID(), 'CN=live', 'x', NOW());
  INSERT INTO revocations(serial, reason) VALUES (LAST_INSERT_ID(), 1); COMMIT;
  """

@Suite("Databases: MariaDB (real server)",
       .enabled(if: DatabaseServers.mariadb.isRunning, Comment(rawValue: DatabaseServers.mariadb.reason)))
struct MariaDBDatabaseTests {
  func makeDatabase(_ box: Sandbox) throws -> String {
    let name = uniqueDatabaseName("ca")
    try box.write("schema.sql", Array(mariadbSchema.utf8))
    try box.mustSh("\(DatabaseServers.mariadbClient) -e 'CREATE DATABASE \(name)' && \(DatabaseServers.mariadbClient) \(name) < schema.sql")
    return name
  }

  func count(_ box: Sandbox, _ database: String, _ sql: String) throws -> Int? {
    integer(try box.sh("\(DatabaseServers.mariadbClient) -N -B \(database) -e \"\(sql)\""))
  }

  @Test("snapshot under concurrent writes, restore into a new database: every table's count and checksum equal")
  func snapshotUnderWrites() throws {
    let box = try Sandbox()
    try box.keygen("op")
    let source = try makeDatabase(box)
    try startWriter(box, sql: mariadbWriter, client: "\(DatabaseServers.mariadbClient) \(source)")
    defer { _ = try? box.sh("kill -9 -- -$(cat writer.pid) 2>/dev/null") }
    for _ in 0..<100 where (try count(box, source, "SELECT count(*) FROM users") ?? 0) < 50_200 { usleep(50_000) }

    let snap = try box.rehost("snapshot", "cadb=mysql:" + DatabaseServers.mariadbOptions(source),
                              "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 0, "\(snap.output)")
    try box.mustSh("kill -9 -- -$(cat writer.pid)")
    let usersAtEnd = try count(box, source, "SELECT count(*) FROM users") ?? 0

    let target = uniqueDatabaseName("restored")
    try box.mustSh("\(DatabaseServers.mariadbClient) -e 'CREATE DATABASE \(target)'")
    let restore = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub",
                                 "--db", "cadb=mysql:" + DatabaseServers.mariadbOptions(target))
    #expect(restore.status == 0, "\(restore.output)")
    let tables = restoredTables(restore.stdout)
    #expect(Set(tables.keys) == ["users", "certificates", "revocations"], "\(restore.output)")
    let users = try count(box, target, "SELECT count(*) FROM users")
    let certificates = try count(box, target, "SELECT count(*) FROM certificates")
    let revocations = try count(box, target, "SELECT count(*) FROM revocations")
    #expect(users == tables["users"] && certificates == tables["certificates"] && revocations == tables["revocations"])
    #expect(certificates.map { $0 - 150_000 } == users && revocations.map { $0 + 30_000 } == users)
    #expect((users ?? 0) > 50_000 && (users ?? 0) < usersAtEnd, "restored \(users ?? -1) users; source had \(usersAtEnd) at the end")
    #expect(try count(box, target, "SELECT count(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()") == 1)
    #expect(try count(box, target, "SELECT count(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = 'certificates_user'") == 1)
    #expect(try count(box, target, "SELECT count(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()") == 2)
  }

  @Test("a MyISAM table (CAcert-era schemas) is named in a warning; the snapshot still restores")
  func myisamTablesAreNamed() throws {
    let box = try Sandbox()
    try box.keygen("op")
    let source = try makeDatabase(box)
    try box.mustSh("\(DatabaseServers.mariadbClient) \(source) -e 'CREATE TABLE legacy_log (id INT PRIMARY KEY, msg TEXT) ENGINE=MyISAM; INSERT INTO legacy_log VALUES (1, \"a\"), (2, \"b\");'")
    let snap = try box.rehost("snapshot", "cadb=mysql:" + DatabaseServers.mariadbOptions(source),
                              "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 0, "\(snap.output)")
    #expect(snap.stderr.contains("warning: database cadb: 1 table is not InnoDB: legacy_log (MyISAM)"), "\(snap.stderr)")
    #expect(snap.stderr.contains("stop their writers during the snapshot"), "\(snap.stderr)")
    let target = uniqueDatabaseName("restored")
    try box.mustSh("\(DatabaseServers.mariadbClient) -e 'CREATE DATABASE \(target)'")
    let restore = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub",
                                 "--db", "cadb=mysql:" + DatabaseServers.mariadbOptions(target))
    #expect(restore.status == 0 && restore.stdout.contains("legacy_log: 2 rows"), "\(restore.output)")
  }

  @Test("mariadb-dump exiting non-zero or killed mid-stream fails the snapshot; no archive is left", arguments: ["exit 2", "kill -9 $$"])
  func dumpToolFails(ending: String) throws {
    let box = try Sandbox()
    try box.keygen("op")
    let source = try makeDatabase(box)
    try box.mustSh("""
      mkdir bin && cat > bin/mariadb-dump <<'EOF'
      #!/bin/bash
      /usr/bin/mariadb-dump "$@" | head -c 9000000
      \(ending)
      EOF
      chmod +x bin/mariadb-dump
      """)
    let snap = try box.sh("PATH=\"$PWD/bin:$PATH\" '\(rehostBinary)' snapshot cadb=mysql:'\(DatabaseServers.mariadbOptions(source))' --out s.rehost --recipient op.pub --sign op.key")
    #expect(snap.status == 1, "\(snap.output)")
    #expect(snap.stderr.contains(ending == "exit 2" ? "mariadb-dump exited with status 2" : "mariadb-dump was killed by signal 9"), "\(snap.stderr)")
    #expect(!box.exists("s.rehost") && !box.exists("s.rehost.seal"))
    #expect(try box.sh("ls -A | grep -c 'tmp-' || true").stdout == "0\n")
  }
}

/// The checksums the snapshot records for each table of `setupSQL` (loaded by `client`
/// into a new database), read from a restore's JSON, which must pass.
private func recordedChecksums(_ box: Sandbox, create: (String) -> String, client: (String) -> String,
                               location: (String) -> String, setupSQL: String) throws -> [String: String] {
  let source = uniqueDatabaseName("sum"), target = uniqueDatabaseName("sumback")
  try box.write("setup.sql", Array(setupSQL.utf8))
  try box.mustSh("\(create(source)) && \(client(source)) < setup.sql && \(create(target))")
  _ = try box.sh("rm -f s.rehost s.rehost.seal")
  let snap = try box.rehost("snapshot", "d=" + location(source), "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key", "--quiet")
  #expect(snap.status == 0, "\(snap.output)")
  let restore = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub", "--db", "d=" + location(target), "--json")
  #expect(restore.status == 0, "\(restore.output)")
  let json = try JSONSerialization.jsonObject(with: Data(restore.stdout.utf8)) as? [String: Any]
  let tables = ((json?["databases"] as? [[String: Any]])?.first?["tables"] as? [[String: Any]]) ?? []
  var sums: [String: String] = [:]
  for table in tables {
    #expect(table["passed"] as? Bool == true, "\(table)")
    if let name = table["name"] as? String, let sum = table["expected_checksum"] as? String { sums[name] = sum }
  }
  return sums
}

/// Holds the checksums of `variants` (rows of table `table`, altered as a faulty load could
/// alter them, in the order of `alterations`) against `base`: the same rows in another
/// order sum alike, every other alteration differs; `unchanged` tables stay equal.
private func expectChecksums(_ checksums: (String) throws -> [String: String], base: [String: String], table: String,
                             unchanged: [String] = [], variants: [String]) throws {
  let alterations = ["same rows, other order", "NULL for an empty string", "one byte of a binary value", "a byte moved to the next column", "a row fewer"]
  #expect(variants.count == alterations.count)
  for (alteration, rows) in zip(alterations, variants) {
    let sums = try checksums(rows)
    if alteration == alterations[0] {
      #expect(sums == base, "\(alteration)")
    } else {
      #expect(sums[table] != base[table] && sums[table] != nil, "\(alteration): \(sums)")
      for other in unchanged { #expect(sums[other] == base[other], "\(alteration): \(other)") }
    }
  }
}

extension MariaDBDatabaseTests {
  @Test("the table checksum ignores row order and sees NULLs, changed bytes, shifted values and lost rows; long columns count by their MD5")
  func checksumSees() throws {
    let box = try Sandbox()
    try box.keygen("op")
    func checksums(_ rows: String) throws -> [String: String] {
      try recordedChecksums(box, create: { "\(DatabaseServers.mariadbClient) -e 'CREATE DATABASE \($0)'" },
                            client: { "\(DatabaseServers.mariadbClient) \($0)" }, location: { "mysql:" + DatabaseServers.mariadbOptions($0) },
                            setupSQL: "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(20) NULL, b VARCHAR(20) NOT NULL, c VARBINARY(20), doc LONGTEXT, j JSON);\n"
                              + "INSERT INTO t VALUES " + rows + ";")
    }
    let base = try checksums("(1,'ab','',0x0102,REPEAT('x',100000),'{\"k\":1}'),(2,'',  'z',NULL,NULL,NULL),(3,NULL,'q',0x00,'',NULL)")
    #expect(base["t"]?.hasPrefix("crc32pair:") == true, "\(base)")
    let variants = [
      "(3,NULL,'q',0x00,'',NULL),(2,'',  'z',NULL,NULL,NULL),(1,'ab','',0x0102,REPEAT('x',100000),'{\"k\":1}')",
      "(1,'ab','',0x0102,REPEAT('x',100000),'{\"k\":1}'),(2,NULL,'z',NULL,NULL,NULL),(3,NULL,'q',0x00,'',NULL)",
      "(1,'ab','',0x0103,REPEAT('x',100000),'{\"k\":1}'),(2,'',  'z',NULL,NULL,NULL),(3,NULL,'q',0x00,'',NULL)",
      "(1,'a','b',0x0102,REPEAT('x',100000),'{\"k\":1}'),(2,'',  'z',NULL,NULL,NULL),(3,NULL,'q',0x00,'',NULL)",
      "(1,'ab','',0x0102,REPEAT('x',100000),'{\"k\":1}'),(2,'',  'z',NULL,NULL,NULL)",
    ]
    try expectChecksums(checksums, base: base, table: "t", variants: variants)
    // A long column is summed by its MD5: a change deep inside it still shows.
    let deep = try checksums("(1,'ab','',0x0102,CONCAT(REPEAT('x',99999),'y'),'{\"k\":1}'),(2,'',  'z',NULL,NULL,NULL),(3,NULL,'q',0x00,'',NULL)")
    #expect(deep["t"] != base["t"])
  }
}

extension PostgresDatabaseTests {
  @Test("the table checksum ignores row order and sees NULLs, changed bytes, shifted values and lost rows; hash_record_extended only where every type is plain")
  func checksumSees() throws {
    let box = try Sandbox()
    try box.keygen("op")
    func checksums(_ rows: String) throws -> [String: String] {
      try recordedChecksums(box, create: { "\(DatabaseServers.psql) -c 'CREATE DATABASE \($0)'" },
                            client: { "\(DatabaseServers.psql) -d \($0)" }, location: { "postgres:" + DatabaseServers.postgresConninfo($0) },
                            setupSQL: """
                              CREATE TABLE t (id int PRIMARY KEY, a text, b varchar(20) NOT NULL, c bytea, at timestamptz, j jsonb);
                              CREATE TABLE odd (id int, tags text[], spot point);
                              INSERT INTO odd VALUES (1, '{a,b}', '(1,2)');
                              INSERT INTO t VALUES \(rows);
                              """)
    }
    let base = try checksums("(1,'ab','','\\x0102','2026-01-01 00:00:00+00','{\"k\":1}'),(2,'','z',NULL,NULL,NULL),(3,NULL,'q','\\x00',NULL,NULL)")
    #expect(base["public.t"]?.hasPrefix("hashrecord64:") == true, "\(base)")
    #expect(base["public.odd"]?.hasPrefix("md5sum64:") == true, "\(base)")
    let variants = [
      "(3,NULL,'q','\\x00',NULL,NULL),(2,'','z',NULL,NULL,NULL),(1,'ab','','\\x0102','2026-01-01 00:00:00+00','{\"k\":1}')",
      "(1,'ab','','\\x0102','2026-01-01 00:00:00+00','{\"k\":1}'),(2,NULL,'z',NULL,NULL,NULL),(3,NULL,'q','\\x00',NULL,NULL)",
      "(1,'ab','','\\x0103','2026-01-01 00:00:00+00','{\"k\":1}'),(2,'','z',NULL,NULL,NULL),(3,NULL,'q','\\x00',NULL,NULL)",
      "(1,'a','b','\\x0102','2026-01-01 00:00:00+00','{\"k\":1}'),(2,'','z',NULL,NULL,NULL),(3,NULL,'q','\\x00',NULL,NULL)",
      "(1,'ab','','\\x0102','2026-01-01 00:00:00+00','{\"k\":1}'),(2,'','z',NULL,NULL,NULL)",
    ]
    try expectChecksums(checksums, base: base, table: "public.t", unchanged: ["public.odd"], variants: variants)
  }
}

extension PostgresDatabaseTests {
  /// Archives before the checksums summed bigints recorded sums of each row's value cast to
  /// numeric; a restore of them compares against the new form, so both must print alike.
  @Test("the checksums' sum of bigints is, as text, the sum of numerics that earlier archives recorded")
  func checksumSumsAgreeWithTheEarlierForm() throws {
    let box = try Sandbox()
    let db = uniqueDatabaseName("sums")
    try box.mustSh("\(DatabaseServers.psql) -c 'CREATE DATABASE \(db)'")
    let md5 = "('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint"
    let result = try box.sh("""
      \(DatabaseServers.psql) -d \(db) -At -F ' ' \
        -c "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS s, g * 7919 AS n FROM generate_series(1, 20000) g" \
        -c "SELECT sum(hash_record_extended(t, 0))::text = sum(hash_record_extended(t, 0)::numeric)::text, \
                   sum(\(md5))::text = sum(\(md5)::numeric)::text, sum(hash_record_extended(t, 0)) FROM ONLY t t"
      """)
    let fields = result.stdout.split(separator: " ")
    #expect(result.status == 0 && fields.count == 3 && fields[0] == "t" && fields[1] == "t", "\(result.output)")
    // Far past 2^63: the sum does not wrap.
    #expect((fields.last?.count ?? 0) > 19, "\(result.output)")
  }
}
