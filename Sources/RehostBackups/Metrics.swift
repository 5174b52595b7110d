import Foundation
import RehostBase
import RehostStorage

/// A run's metrics as a Prometheus textfile for node_exporter's textfile collector
/// (docs/BACKUP.md, "Monitoring"), written under a temporary name and renamed, so the
/// collector never reads half a file.
public struct BackupMetrics: Sendable {
  public var repository: String
  public var runTime: time_t
  public var exitStatus: Int32
  public var duration: Double
  /// The newest backup's time (the last success); nil when there is none.
  public var lastSuccess: time_t?
  /// This run's archive (zero when it failed).
  public var bytes: Int64 = 0
  public var entries: Int64 = 0
  /// Backups in the repository, and backups ever recorded.
  public var archives: Int?
  public var chainLength: Int?
  /// Each offsite remote (as shown) and its copy's exit status (0: copied).
  public var offsite: [(remote: String, status: Int32)] = []

  public init(repository: String, runTime: time_t, exitStatus: Int32, duration: Double) {
    (self.repository, self.runTime, self.exitStatus, self.duration) = (repository, runTime, exitStatus, duration)
  }

  public var text: String {
    func escaped(_ text: String) -> String {
      text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
    let label = "{repository=\"\(escaped(repository))\"}"
    var out = ""
    func metric(_ name: String, _ help: String, _ value: String?) {
      guard let value else { return }
      out += "# HELP rehost_backup_\(name) \(help)\n# TYPE rehost_backup_\(name) gauge\nrehost_backup_\(name)\(label) \(value)\n"
    }
    metric("last_run_timestamp_seconds", "When the last backup run ended (Unix time).", String(runTime))
    metric("last_exit_status", "The last run's exit status (0: success).", String(exitStatus))
    metric("last_duration_seconds", "How long the last run took.", String(format: "%.3f", duration))
    metric("last_success_timestamp_seconds", "When the newest backup in the repository was sealed (Unix time).", lastSuccess.map { String($0) })
    metric("last_bytes", "The last run's archive size in bytes (0 when it failed).", String(bytes))
    metric("last_entries", "Entries in the last run's archive (0 when it failed).", String(entries))
    metric("archives", "Backups in the repository (recorded and not pruned).", archives.map { String($0) })
    metric("chain_length", "Backups ever recorded in the repository's chain.", chainLength.map { String($0) })
    if !offsite.isEmpty {
      let name = "rehost_backup_offsite_last_exit_status"
      out += "# HELP \(name) The last run's copy to each offsite remote (0: copied and checked).\n# TYPE \(name) gauge\n"
      for (remote, status) in offsite { out += "\(name){repository=\"\(escaped(repository))\",remote=\"\(escaped(remote))\"} \(status)\n" }
    }
    return out
  }

  /// Writes the file at `path` atomically (mode 0644).
  public func write(to path: String) throws {
    let file = try AtomicFile(path: path, mode: 0o644)
    do {
      try Array(text.utf8).withUnsafeBytes { try file.write($0) }
      try file.commit(replace: true)
    } catch {
      file.abort()
      throw error
    }
  }
}
