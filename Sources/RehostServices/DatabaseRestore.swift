import RehostBase
import RehostDatabases
import RehostFormat
import RehostStorage

/// What a restore did with one database of the archive.
public struct DatabaseRestoreReport: Sendable {
  public let name: String
  public let method: String
  /// Where it went (passwords removed).
  public let target: String
  public let tables: [TableCheck]
  /// The server's roles, restored before the database, when the archive holds them.
  public let roles: RolesReport?
}

/// Feeds the dumps of the databases the user gave targets for (`--db NAME=...`) to their
/// loaders as the archive streams past; at the end, measures each target and holds it
/// against the manifest's record.
final class DatabaseRestore {
  private let targets: [String: DatabaseLocation]
  private var loaders: [String: DatabaseLoader] = [:]
  private var order: [String] = []
  private var current: DatabaseLoader?
  /// Roles files being loaded or loaded, by database; each finishes before its dump starts.
  private var rolesLoaders: [String: RolesLoader] = [:]
  private var rolesReports: [String: RolesReport] = [:]
  private var currentRoles: RolesLoader?
  /// Databases present in the archive but not asked for.
  private(set) var skipped: [String] = []

  init(targets: [String: DatabaseLocation]) {
    self.targets = targets
  }

  /// Whether any target is loaded while the archive streams (PostgreSQL, MariaDB), so
  /// that the archive should be checked against its seal before the first byte goes in.
  var loadsLive: Bool { targets.values.contains { $0.engine != .sqlite } }

  func begin(_ file: ManifestDatabase.FileName) throws {
    current = nil
    currentRoles = nil
    let name = file.database
    guard let target = targets[name] else {
      if !skipped.contains(name) { skipped.append(name) }
      return
    }
    if file.file == ManifestDatabase.rolesFileName {
      // The roles come first (part 0), and are all in before the dump's first byte.
      let loader = try Roles.loader(database: name, into: target)
      rolesLoaders[name] = loader
      currentRoles = loader
      return
    }
    if let roles = rolesLoaders[name], rolesReports[name] == nil { rolesReports[name] = try roles.finish() }
    if loaders[name] == nil {
      loaders[name] = try Databases.loader(name: name, firstFile: file.file, into: target)
      order.append(name)
    }
    current = loaders[name]
  }

  func data(_ bytes: UnsafeRawBufferPointer) throws {
    if let currentRoles { try currentRoles.write(bytes) } else { try current?.write(bytes) }
  }

  /// Finishes every load and checks it table by table against `records`. Throws, having
  /// undone what can be undone, when a table differs or a target names no database.
  func finish(records: [ManifestDatabase]) throws -> [DatabaseRestoreReport] {
    let byName = Dictionary(records.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    for name in targets.keys.sorted() where byName[name] == nil {
      throw RehostError(.usage, "the archive holds no database named \(name)",
                        hint: records.isEmpty ? "it holds no database at all" : "it holds: \(records.map(\.name).joined(separator: ", "))")
    }
    var reports: [DatabaseRestoreReport] = []
    for name in order {
      guard let record = byName[name], let loader = loaders[name], let target = targets[name] else { continue }
      guard Databases.method(ofFile: record.files.first ?? "") == record.method else {
        throw RehostError(.corrupt, "database \(name) is recorded as \(record.method) but stored otherwise", hint: "do not trust this archive")
      }
      let checks = Databases.compare(expected: record.tables, actual: try loader.finish(like: record.tables))
      reports.append(DatabaseRestoreReport(name: name, method: record.method, target: target.redacted, tables: checks,
                                           roles: rolesReports[name]))
      let failed = checks.filter { !$0.passed }
      guard failed.isEmpty else {
        let undone = target.engine == .sqlite ? "nothing was written to \(target.argument)"
          : "the target \(target.redacted) holds what was loaded; drop it and restore again"
        throw RehostError(.failure, "database \(name) did not come back whole: " + failed.map(\.summary).joined(separator: "; "),
                          hint: "\(undone). Check the target server's version and settings (triggers firing on load?)")
      }
    }
    return reports
  }

  /// Makes the checked databases visible (SQLite files renamed into place).
  func commit() throws {
    for name in order { try loaders[name]?.commit() }
  }

  func abort() {
    for loader in rolesLoaders.values { loader.abort() }
    for loader in loaders.values { loader.abort() }
  }
}

/// Sends database entries to the database restore and everything else to `files`.
final class RoutingHandler: EntryHandler {
  private let files: EntryHandler
  private let databases: DatabaseRestore
  private var inDatabase = false

  init(files: EntryHandler, databases: DatabaseRestore) {
    self.files = files
    self.databases = databases
  }

  func begin(_ entry: CheckedEntry) throws {
    inDatabase = entry.database != nil
    if let file = entry.database { try databases.begin(file) } else { try files.begin(entry) }
  }

  func data(_ bytes: UnsafeRawBufferPointer) throws {
    if inDatabase { try databases.data(bytes) } else { try files.data(bytes) }
  }

  func end(_ entry: CheckedEntry) throws {
    if !inDatabase { try files.end(entry) }
  }
}
