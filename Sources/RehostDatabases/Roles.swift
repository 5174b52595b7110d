import Foundation
import RehostBase
import RehostFormat
import RehostStorage

/// A database server's roles (users) and their grants, taken beside a database when the
/// inventory says `roles: true` (or `snapshot --roles`), and restored before its dump so
/// that the dump's owners and grants find them. Stored as the SQL the engine's own tool
/// writes: `pg_dumpall --globals-only` (roles, memberships, tablespaces) for PostgreSQL,
/// `mariadb-dump --system=users --insert-ignore` (users, roles, grants) for MariaDB.
///
/// The SQL holds password hashes: it lives only inside the encrypted archive and goes
/// from there to the target server's client, never to disk.
public enum Roles {
  /// At most this much SQL: roles are small, and the whole text is held in memory.
  static let maxBytes = 16 << 20

  /// Takes the roles of the server `location` is on.
  static func capture(_ location: DatabaseLocation) throws -> [UInt8] {
    let tool: Subprocess
    switch location.engine {
    case .postgres:
      // pg_dumpall ignores the conninfo's database; -l names the one it connects to.
      let database = PostgresConnection.keywords(location.argument)["dbname"]
      tool = try Subprocess("pg_dumpall", ["--globals-only", "--no-password", "--dbname=\(location.argument)"]
                              + (database.map { ["-l", $0] } ?? []))
    case .mysql:
      tool = try Subprocess(findProgram(["mariadb-dump", "mysqldump"]),
                            MariaDBConnection(options: location.argument).flags + ["--system=users", "--insert-ignore"])
    case .sqlite:
      throw RehostError(.usage, "database \(location.name) is SQLite, which has no roles", hint: "leave out `roles: true` for it")
    }
    let text: [UInt8]
    do {
      guard let output = try tool.readAll(limit: maxBytes) else {
        throw RehostError(.failure, "the roles of \(location.redacted) are more than \(maxBytes >> 20) MiB of SQL",
                          hint: "snapshot without roles, and move them by hand")
      }
      text = output
      try tool.waitForSuccess(doing: "taking the roles of \(location.redacted)")
    } catch {
      tool.terminate()
      if let error = error as? RehostError, location.engine == .postgres, tool.errorOutput().contains("permission denied") {
        throw RehostError(.failure, error.message, hint: "roles with their passwords can be read by a superuser only; connect as one (user=postgres)")
      }
      throw error
    }
    return text
  }

  /// The roles a roles file creates, as the engine quotes them (`app`, `"Odd Name"`;
  /// `` `app`@`localhost` ``, `` `auditor` ``): what a restore then looks for.
  public static func names(in sql: String, engine: DatabaseEngine) -> [String] {
    var names: [String] = []
    for line in sql.split(separator: "\n") {
      switch engine {
      case .postgres:
        if line.hasPrefix("CREATE ROLE "), line.hasSuffix(";") { names.append(String(line.dropFirst(12).dropLast())) }
      case .mysql:
        if line.hasPrefix("CREATE USER IF NOT EXISTS ") {
          var rest = line.dropFirst(26)
          guard let user = quoted(&rest), rest.first == "@" else { continue }
          rest = rest.dropFirst()
          guard let host = quoted(&rest) else { continue }
          names.append(user + "@" + host)
        } else if let range = line.range(of: "CREATE ROLE IF NOT EXISTS '"), line.hasPrefix("/*M!"),
                  let close = line[range.upperBound...].firstIndex(of: "'") {
          names.append("`" + line[range.upperBound..<close] + "`")
        }
      case .sqlite: break
      }
    }
    return names
  }

  /// Feeds a roles file to the target server's client; ``RolesLoader/finish()`` then
  /// checks that every role it creates exists there.
  public static func loader(database: String, into target: DatabaseLocation) throws -> RolesLoader {
    let client: Subprocess
    switch target.engine {
    case .postgres:
      // Not stopping at errors: a role the new server has already (its superuser) fails
      // to be created, and the statements after it still apply. Every error is read back.
      client = try Subprocess("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=0", "--no-password", "--dbname=\(target.argument)"],
                              stdin: .pipe, stdout: .null)
    case .mysql:
      // Written with IF NOT EXISTS: any error is real.
      let connection = MariaDBConnection(options: target.argument)
      client = try Subprocess(findProgram(["mariadb", "mysql"]), connection.flags + ["--batch"], stdin: .pipe, stdout: .null)
    case .sqlite:
      throw RehostError(.usage, "database \(database) carries a server's roles and cannot be restored into SQLite")
    }
    return RolesLoader(database: database, target: target, client: client)
  }
}

/// What a roles restore did.
public struct RolesReport: Sendable {
  /// The roles the file creates, all present on the target now.
  public let roles: [String]
  /// Roles the target had already (kept, and given the source's attributes and grants).
  public let existing: [String]
}

/// Pipes a roles file into the target's client, collecting the roles it names.
public final class RolesLoader {
  private let database: String
  private let target: DatabaseLocation
  private let client: Subprocess
  private var text: [UInt8] = []

  init(database: String, target: DatabaseLocation, client: Subprocess) {
    self.database = database
    self.target = target
    self.client = client
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard text.count + bytes.count <= Roles.maxBytes else {
      throw RehostError(.refused, "database \(database)'s roles file is more than \(Roles.maxBytes >> 20) MiB", hint: "do not trust this archive")
    }
    text += bytes
    try client.write(bytes)
  }

  /// Waits for the client, then holds the target's roles against the file's.
  public func finish() throws -> RolesReport {
    client.closeInput()
    let what = "restoring the roles of database \(database) into \(target.redacted)"
    try client.waitForSuccess(doing: what)
    // psql's `ERROR:  role "NAME" already exists`: kept; any other error fails the restore.
    var existing: [String] = [], other: [Substring] = []
    for line in client.errorOutput(limit: 64 << 10).split(separator: "\n") where line.contains("ERROR") {
      if let r = line.range(of: "ERROR:  role \""), line.hasSuffix("\" already exists") {
        existing.append(String(line[r.upperBound...].dropLast(16)))
      } else {
        other.append(line)
      }
    }
    guard other.isEmpty else {
      throw RehostError(.failure, "\(what) failed: " + other.prefix(5).joined(separator: "; "),
                        hint: "fix what the server reports (a tablespace's directory missing?), drop what was loaded, and restore again")
    }
    let wanted = Roles.names(in: String(decoding: text, as: UTF8.self), engine: target.engine)
    let present = Set(try presentRoles())
    let missing = wanted.filter { !present.contains($0) }
    guard missing.isEmpty else {
      throw RehostError(.failure, "\(what): \(missing.joined(separator: ", ")) did not come back",
                        hint: "check the target server's log; restore as a user allowed to create roles")
    }
    return RolesReport(roles: wanted, existing: existing.map { Self.quotedLikeDump($0) })
  }

  public func abort() { client.terminate() }

  /// The target's roles, quoted as the dump tools quote them.
  private func presentRoles() throws -> [String] {
    switch target.engine {
    case .postgres:
      let session = try PostgresConnection.session(target.argument)
      defer { try? session.close() }
      return try session.query("SELECT quote_ident(rolname) FROM pg_roles;").map { $0[0] }
    case .mysql:
      let session = try MariaDBConnection(options: target.argument).session()
      defer { try? session.close() }
      return try session.query("""
        SELECT IF(is_role = 'Y', CONCAT('`', REPLACE(User, '`', '``'), '`'),
                  CONCAT('`', REPLACE(User, '`', '``'), '`@`', REPLACE(Host, '`', '``'), '`')) FROM mysql.user;
        """).map { $0[0] }
    case .sqlite: return []
    }
  }

  /// psql names a role in an error message unquoted; the dump quotes only when needed.
  private static func quotedLikeDump(_ name: String) -> String {
    name.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" } ? name : "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}

/// A backquoted identifier at the start of `text` (`` `a``b` ``, a doubled backquote
/// inside), returned with its quotes and removed from `text`.
private func quoted(_ text: inout Substring) -> String? {
  guard text.first == "`" else { return nil }
  var i = text.index(after: text.startIndex)
  while i < text.endIndex {
    if text[i] == "`" {
      let next = text.index(after: i)
      if next < text.endIndex, text[next] == "`" { i = text.index(after: next); continue }
      let result = String(text[..<next])
      text = text[next...]
      return result
    }
    i = text.index(after: i)
  }
  return nil
}
