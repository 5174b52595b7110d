import Foundation
import RehostBase
import RehostStorage

/// A conversation with a database's own command-line client (`psql`, `mariadb`) over
/// pipes: rehost sends statements and reads the rows back, tab-separated, one per line.
///
/// Each batch ends with `SELECT '<marker>'`; reading up to the marker's line tells where
/// the batch's output ends. The client stops at the first error (ON_ERROR_STOP for psql;
/// mariadb in batch mode always does), so an early end of its output is an error, quoted.
final class SQLSession {
  private let client: Subprocess
  private let output: LineReader
  private var batches = 0

  init(program: String, arguments: [String], environment: [String: String] = [:]) throws {
    client = try Subprocess(program, arguments, environment: environment, stdin: .pipe, stdout: .pipe)
    output = LineReader(source: SubprocessOutput(client))
  }

  deinit { client.terminate() }

  /// Runs `sql` (one or more statements, each ending with `;`) and returns the rows of
  /// all result sets, each split at tabs.
  @discardableResult
  func query(_ sql: String) throws -> [[String]] {
    batches += 1
    let marker = "rehost-batch-end-\(batches)"
    try client.write(sql + "\nSELECT '\(marker)';\n")
    var rows: [[String]] = []
    while let line = try output.next() {
      if line == marker { return rows }
      rows.append(line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init))
    }
    client.closeInput()
    let status = try client.wait()
    let message = client.errorOutput()
    throw RehostError(.failure, "\(client.program) \(status.description) on: \(sql.prefix(200))\(message.isEmpty ? "" : "\n    " + message)",
                      hint: "check that the database is reachable with these settings and that the user may read every table")
  }

  /// Runs the session's first statements; a failure here is a failure to connect, and
  /// says so with the client's own message.
  func open(_ settings: String, target: String) throws {
    do {
      try query(settings)
    } catch {
      let message = client.errorOutput()
      throw RehostError(.failure, "cannot open a session on \(target)\(message.isEmpty ? "" : ": " + message)",
                        hint: "check the connection settings (host or socket, user, password in ~/.pgpass or an option file) and that the server runs")
    }
  }

  /// The first column of the first row.
  func value(_ sql: String) throws -> String {
    guard let value = try query(sql).first?.first else {
      throw RehostError(.failure, "\(client.program) returned no row for: \(sql.prefix(200))")
    }
    return value
  }

  /// Ends the session cleanly.
  func close() throws {
    client.closeInput()
    try client.waitForSuccess(doing: "closing its session")
  }
}

/// Finds the first of `names` on PATH (Debian ships `mariadb-dump`; older systems `mysqldump`).
func findProgram(_ names: [String]) -> String {
  let path = (getenvString("PATH") ?? "/usr/bin:/bin").split(separator: ":")
  for name in names {
    for dir in path where access(dir + "/" + name, X_OK) == 0 { return name }
  }
  return names[0]
}

func getenvString(_ name: String) -> String? {
  getenv(name).map { String(cString: $0) }
}
