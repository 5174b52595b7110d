import Foundation
import Testing

/// A database's server roles (users) and grants, taken with it when asked and restored
/// before it: on a new server the dump's owners and grants then find their roles, and
/// the users keep their password hashes.
@Suite("Databases: roles and grants (real servers)")
struct DatabaseRolesTests {
  @Test("PostgreSQL: roles from pg_dumpall --globals-only come back first, with passwords, memberships, owners and grants",
        .enabled(if: DatabaseServers.postgres.isRunning, Comment(rawValue: DatabaseServers.postgres.reason)))
  func postgres() throws {
    let box = try Sandbox()
    try box.keygen("op")
    let psql = DatabaseServers.psql
    let source = uniqueDatabaseName("ca"), app = uniqueDatabaseName("app"), reader = "Read \(app)"
    try box.mustSh("""
      set -e
      \(psql) -c "CREATE ROLE \(app) LOGIN PASSWORD 'app secret'" -c 'CREATE ROLE "\(reader)"' -c 'GRANT "\(reader)" TO \(app)' \
        -c 'CREATE DATABASE \(source) OWNER \(app)'
      \(psql) -d \(source) -c "CREATE TABLE certs (serial int PRIMARY KEY, subject text); INSERT INTO certs VALUES (1, 'CN=a'), (2, 'CN=b')" \
        -c 'ALTER TABLE certs OWNER TO \(app)' -c 'GRANT SELECT ON certs TO "\(reader)"'
      """)
    let hash = try box.sh("\(psql) -At -c \"SELECT rolpassword FROM pg_authid WHERE rolname = '\(app)'\"").stdout
    #expect(hash.hasPrefix("SCRAM-SHA-256$"), "\(hash)")
    // Asked for in the inventory.
    try box.write("inventory.yaml", Array("""
      inventory: 1
      sources:
        - database: postgres:\(DatabaseServers.postgresConninfo(source))
          name: web
          roles: true
      """.utf8))
    let snap = try box.rehost("snapshot", "--inventory", "inventory.yaml", "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 0, "\(snap.output)")
    let verify = try box.rehost("verify", "s.rehost", "--trust", "op.pub", "--identity", "op.key")
    #expect(verify.stdout.contains("with its server's roles and grants"), "\(verify.output)")

    // The new server lacks the roles: without them, the dump's owner and grant would fail.
    let target = uniqueDatabaseName("moved")
    try box.mustSh("\(psql) -c 'DROP DATABASE \(source)' -c 'DROP ROLE \(app)' -c 'DROP ROLE \"\(reader)\"' -c 'CREATE DATABASE \(target)'")
    let restore = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub",
                                 "--db", "web=postgres:" + DatabaseServers.postgresConninfo(target), "--json")
    #expect(restore.status == 0, "\(restore.output)")
    let report = try JSONSerialization.jsonObject(with: Data(restore.stdout.utf8)) as? [String: Any]
    let roles = ((report?["databases"] as? [[String: Any]])?.first?["roles"] as? [String: Any])
    #expect((roles?["restored"] as? [String])?.contains(app) == true && (roles?["restored"] as? [String])?.contains("\"\(reader)\"") == true, "\(restore.stdout)")
    #expect((roles?["existed"] as? [String])?.contains("postgres") == true, "\(restore.stdout)")
    #expect(try box.sh("\(psql) -At -c \"SELECT rolpassword FROM pg_authid WHERE rolname = '\(app)'\"").stdout == hash)
    #expect(try box.sh("\(psql) -At -c \"SELECT pg_has_role('\(app)', '\(reader)', 'member')\"").stdout == "t\n")
    #expect(try box.sh("\(psql) -d \(target) -At -c \"SELECT tableowner FROM pg_tables WHERE tablename = 'certs'\"").stdout == "\(app)\n")
    #expect(try box.sh("\(psql) -d \(target) -At -c \"SELECT has_table_privilege('\(reader)', 'certs', 'SELECT')\"").stdout == "t\n")
    _ = try? box.sh("\(psql) -c 'DROP DATABASE \(target)' -c 'DROP ROLE \(app)' -c 'DROP ROLE \"\(reader)\"'")
  }

  @Test("MariaDB: users, roles and grants from mariadb-dump --system=users come back first, password hashes kept",
        .enabled(if: DatabaseServers.mariadb.isRunning, Comment(rawValue: DatabaseServers.mariadb.reason)))
  func mariadb() throws {
    let box = try Sandbox()
    try box.keygen("op")
    let client = DatabaseServers.mariadbClient
    let source = uniqueDatabaseName("ca"), app = uniqueDatabaseName("app"), auditor = uniqueDatabaseName("auditor")
    try box.mustSh("""
      set -e
      \(client) -e "CREATE DATABASE \(source); CREATE USER '\(app)'@'localhost' IDENTIFIED BY 'app secret'; CREATE ROLE \(auditor); \
        GRANT SELECT, INSERT ON \(source).* TO '\(app)'@'localhost'; GRANT SELECT ON \(source).* TO \(auditor); GRANT \(auditor) TO '\(app)'@'localhost';"
      \(client) \(source) -e "CREATE TABLE certs (serial INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO certs VALUES (1), (2);"
      """)
    let hash = try box.sh("\(client) -N -B -e \"SELECT authentication_string FROM mysql.user WHERE User = '\(app)'\"").stdout
    #expect(hash.hasPrefix("*"), "\(hash)")
    // Asked for on the command line.
    let snap = try box.rehost("snapshot", "web=mysql:" + DatabaseServers.mariadbOptions(source), "--roles",
                              "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 0, "\(snap.output)")
    // The same database name on the new server, as the grants name it.
    try box.mustSh("\(client) -e \"DROP DATABASE \(source); DROP USER '\(app)'@'localhost'; DROP ROLE \(auditor); CREATE DATABASE \(source);\"")
    let restore = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub",
                                 "--db", "web=mysql:" + DatabaseServers.mariadbOptions(source))
    #expect(restore.status == 0, "\(restore.output)")
    #expect(restore.stdout.contains("roles first:") && restore.stdout.contains("`\(app)`@`localhost`") && restore.stdout.contains("`\(auditor)`"),
            "\(restore.output)")
    #expect(try box.sh("\(client) -N -B -e \"SELECT authentication_string FROM mysql.user WHERE User = '\(app)'\"").stdout == hash)
    let grants = try box.sh("\(client) -N -B -e \"SHOW GRANTS FOR '\(app)'@'localhost'\"").stdout
    #expect(grants.contains("GRANT SELECT, INSERT ON `\(source)`.* TO `\(app)`@`localhost`") && grants.contains("GRANT `\(auditor)` TO `\(app)`@`localhost`"),
            "\(grants)")
    #expect(try box.sh("\(client) -N -B \(source) -e 'SELECT count(*) FROM certs'").stdout == "2\n")
    _ = try? box.sh("\(client) -e \"DROP DATABASE \(source); DROP USER '\(app)'@'localhost'; DROP ROLE \(auditor);\"")
  }

  @Test("--roles without a server database is a usage error")
  func rolesNeedAServer() throws {
    let box = try Sandbox()
    try box.keygen("op")
    try box.mustSh("sqlite3 web.db 'CREATE TABLE t (x)' 2>/dev/null || python3 -c 'import sqlite3; sqlite3.connect(\"web.db\").execute(\"CREATE TABLE t (x)\")'")
    let r = try box.rehost("snapshot", "sqlite:web.db", "--roles", "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(r.status == 2 && r.stderr.contains("--roles goes with a postgres: or mysql: database"), "\(r.output)")
  }
}
