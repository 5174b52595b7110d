import RehostBase
import RehostFormat

/// The engines rehost can snapshot and restore.
public enum DatabaseEngine: String, Sendable, CaseIterable {
  case sqlite, postgres, mysql
}

/// A database named on the command line or in an inventory:
/// `[NAME=]sqlite:PATH`, `[NAME=]postgres:CONNINFO` or `[NAME=]mysql:OPTIONS`.
///
/// - CONNINFO is anything libpq takes (`dbname=ca host=/run/postgresql`, or a
///   `postgresql://` URI).
/// - OPTIONS are the `mariadb` client's options separated by spaces, ending with the
///   database name: `--defaults-extra-file=/etc/rehost/my.cnf ca`.
public struct DatabaseLocation: Equatable, Sendable {
  public let engine: DatabaseEngine
  /// The part after `engine:`.
  public let argument: String
  /// The name the database gets in the archive.
  public let name: String
  /// Also take the server's roles (users) and grants, restored before the database
  /// (PostgreSQL and MariaDB; inventory `roles: true`, `snapshot --roles`).
  public var roles = false

  /// Whether `text` is meant as a database (rather than a directory path).
  public static func looksLikeDatabase(_ text: String) -> Bool {
    engine(of: split(text).body) != nil
  }

  public init(parsing text: String) throws {
    let (givenName, body) = DatabaseLocation.split(text)
    guard let engine = DatabaseLocation.engine(of: body) else {
      throw RehostError(.usage, "'\(text)' is not a database location",
                        hint: "write sqlite:PATH, postgres:CONNINFO or mysql:OPTIONS, optionally preceded by NAME=")
    }
    let argument = String(body.dropFirst(engine.rawValue.count + 1)).trimmingSpaces()
    guard !argument.isEmpty else { throw RehostError(.usage, "'\(text)' names no database after '\(engine.rawValue):'") }
    self.engine = engine
    self.argument = argument
    guard let name = givenName ?? DatabaseLocation.defaultName(engine: engine, argument: argument),
          DatabaseLocation.isValidName(name) else {
      throw RehostError(.usage, "'\(text)' needs a name: write NAME=\(engine.rawValue):...",
                        hint: "a name is letters, digits, '.', '_' or '-' (at most 64), not starting with '.'")
    }
    self.name = name
  }

  /// `NAME=engine:...` -> (NAME, `engine:...`); anything else -> (nil, text).
  private static func split(_ text: String) -> (name: String?, body: Substring) {
    if let eq = text.firstIndex(of: "="), isValidName(String(text[..<eq])),
       engine(of: text[text.index(after: eq)...]) != nil {
      return (String(text[..<eq]), text[text.index(after: eq)...])
    }
    return (nil, Substring(text))
  }

  private static func engine(of body: Substring) -> DatabaseEngine? {
    DatabaseEngine.allCases.first { body.hasPrefix($0.rawValue + ":") }
  }

  static func isValidName(_ name: String) -> Bool { ManifestDatabase.isValidName(name) }

  /// `ca.sqlite` -> `ca`; `dbname=ca host=...` -> `ca`; `... ca` -> `ca`.
  static func defaultName(engine: DatabaseEngine, argument: String) -> String? {
    switch engine {
    case .sqlite:
      let file = argument.split(separator: "/").last.map(String.init) ?? argument
      return file.split(separator: ".").first.map(String.init)
    case .postgres:
      if argument.contains("://") {
        return argument.split(separator: "?")[0].split(separator: "/").last.map(String.init)
      }
      return PostgresConnection.keywords(argument)["dbname"]
    case .mysql:
      return MariaDBConnection(options: argument).database
    }
  }

  /// The location as it may be recorded in a manifest: passwords removed.
  public var redacted: String {
    switch engine {
    case .sqlite: return "sqlite:" + argument
    case .postgres: return "postgres:" + PostgresConnection.redact(argument)
    case .mysql: return "mysql:" + MariaDBConnection(options: argument).redacted
    }
  }
}

extension String {
  func trimmingSpaces() -> String {
    var s = Substring(self)
    while s.first == " " { s = s.dropFirst() }
    while s.last == " " { s = s.dropLast() }
    return String(s)
  }
}
