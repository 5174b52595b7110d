import ArgumentParser
import Foundation
import RehostBackups
import RehostBase
import RehostServices

extension Rehost.Backup {
  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "The nightly job: back up what the config names into its repository, then prune.",
      discussion: """
        Silent on success (warnings aside) unless --verbose; on failure one error on stderr \
        and a non-zero exit (the README's exit codes; 8 when another run holds the \
        repository). --json prints a summary object. The metrics file (--metrics-file, or \
        the config's metrics-file) is written after every run, success or not; given on the \
        command line, even a config that cannot be read is reported there.
        """)

    @Option(name: .long, help: ArgumentHelp("The backup config (docs/BACKUP.md).", valueName: "FILE.yaml"))
    var config: String

    @Flag(name: .long, help: "Say what was done.")
    var verbose = false

    @Flag(name: .long, help: "Print a JSON summary on standard output.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Write Prometheus textfile metrics here (instead of the config's metrics-file).",
                                            valueName: "PATH"))
    var metricsFile: String?

    func run() throws {
      let started = Date()
      let config: BackupConfig
      do {
        config = try BackupConfig.load(self.config)
      } catch let error as RehostError {
        // A broken config is a failed night too: the alert must not depend on reading it.
        if let metricsFile {
          try? write(BackupMetrics(repository: "", runTime: time(nil), exitStatus: ExitCodes.code(for: error.kind),
                                   duration: Date().timeIntervalSince(started)), to: metricsFile)
        }
        if json { print(BackupJSON.failure(error, code: ExitCodes.code(for: error.kind), duration: Date().timeIntervalSince(started))) }
        throw error
      }
      do {
        let summary = try BackupRun.run(config)
        let offsiteError = summary.offsiteFailures.isEmpty ? nil : Self.offsiteError(summary.offsiteFailures)
        try writeMetrics(config, started: started, status: offsiteError.map { ExitCodes.code(for: $0.kind) } ?? 0, summary: summary)
        for warning in summary.warnings { Console.error("rehost: warning: \(warning)") }
        if verbose {
          for note in summary.notes { Console.error("rehost: note: \(note)") }
          let b = summary.backup
          if let adopted = summary.adopted { print("recorded backup \(adopted.sequence) (\(adopted.archive)), which a stopped run had sealed") }
          print("backup \(b.sequence): \(summary.repository.file(b.archive)), \(b.entries) entries, \(Console.bytes(b.archiveSize))")
          print("  archive SHA-256 \(b.archiveSHA256), seal SHA-256 \(b.sealSHA256)")
          for p in summary.pruned { print("pruned backup \(p.sequence) (\(p.archive))") }
          for o in summary.offsite {
            print("copied to \(Rclone.shown(o.remote)): \(o.copied.isEmpty ? "nothing new" : o.copied.joined(separator: ", "))"
                  + (o.removed.isEmpty ? "" : "; removed \(o.removed.count) files of pruned backups"))
          }
          print("\(summary.live) backups in the repository, \(summary.chainLength) recorded in its chain")
        }
        if json { print(BackupJSON.summary(summary, duration: Date().timeIntervalSince(started))) }
        if let offsiteError { throw offsiteError }
      } catch let error as RehostError where error.kind == .offsite {
        throw error
      } catch let error as RehostError {
        try? writeMetrics(config, started: started, status: ExitCodes.code(for: error.kind), summary: nil)
        if json { print(BackupJSON.failure(error, code: ExitCodes.code(for: error.kind), duration: Date().timeIntervalSince(started))) }
        throw error
      }
    }

    /// The backup stands; the copies that failed make the run fail, each named.
    static func offsiteError(_ failures: [(remote: String, error: RehostError)]) -> RehostError {
      if failures.count == 1 {
        return RehostError(.offsite, "backed up, but not copied offsite: \(failures[0].error.message)",
                           hint: (failures[0].error.hint ?? "") + "; the next run copies what the remote lacks")
      }
      for failure in failures { Console.error("rehost: \(failure.error.message)") }
      return RehostError(.offsite, "backed up, but \(failures.count) offsite copies failed (above)",
                         hint: "the next run copies what each remote lacks")
    }

    func writeMetrics(_ config: BackupConfig, started: Date, status: Int32, summary: BackupSummary?) throws {
      guard let path = metricsFile ?? config.metricsFile else { return }
      var metrics = BackupMetrics(repository: config.repository, runTime: time(nil), exitStatus: status,
                                  duration: Date().timeIntervalSince(started))
      if let summary {
        (metrics.bytes, metrics.entries) = (summary.backup.archiveSize, summary.backup.entries)
        (metrics.archives, metrics.chainLength) = (summary.live, summary.chainLength)
        metrics.offsite = summary.offsite.map { (Rclone.shown($0.remote), 0) }
          + summary.offsiteFailures.map { (Rclone.shown($0.remote), ExitCodes.code(for: $0.error.kind)) }
      }
      if let chain = try? Chain.read(try Repository.open(config.repository)) {
        metrics.lastSuccess = chain.live.compactMap { Timestamp.seconds($0.created) }.max()
        (metrics.archives, metrics.chainLength) = (chain.live.count, chain.backups.count)
      }
      try write(metrics, to: path)
    }

    func write(_ metrics: BackupMetrics, to path: String) throws {
      do {
        try metrics.write(to: path)
      } catch let error as RehostError {
        Console.error("rehost: warning: the metrics file was not written: \(error.message)")
      }
    }
  }
}

/// The JSON objects `--json` prints.
enum BackupJSON {
  static func summary(_ s: BackupSummary, duration: Double) -> String {
    let b = s.backup
    func strings(_ list: [String]) -> String { "[" + list.map(JSONText.string).joined(separator: ",") + "]" }
    return "{\"status\":\"ok\",\"repository\":\(JSONText.string(s.repository.path)),\"sequence\":\(b.sequence),"
      + "\"archive\":\(JSONText.string(s.repository.file(b.archive))),\"archive_sha256\":\"\(b.archiveSHA256)\",\"seal_sha256\":\"\(b.sealSHA256)\","
      + "\"bytes\":\(b.archiveSize),\"entries\":\(b.entries),\"content_bytes\":\(b.contentBytes),"
      + "\"duration_seconds\":\(String(format: "%.3f", duration)),\"pruned\":[\(s.pruned.map { String($0.sequence) }.joined(separator: ","))],"
      + "\"backups\":\(s.live),\"chain_length\":\(s.chainLength),\"warnings\":\(strings(s.warnings)),\"notes\":\(strings(s.notes)),"
      + "\"offsite\":[" + (s.offsite.map { "{\"remote\":\(JSONText.string(Rclone.shown($0.remote))),\"status\":\"ok\",\"copied\":\(strings($0.copied))}" }
        + s.offsiteFailures.map { "{\"remote\":\(JSONText.string(Rclone.shown($0.remote))),\"status\":\"failed\",\"error\":\(JSONText.string($0.error.message))}" })
        .joined(separator: ",") + "]}"
  }

  static func failure(_ error: RehostError, code: Int32, duration: Double) -> String {
    "{\"status\":\"failed\",\"exit\":\(code),\"error\":\(JSONText.string(error.message)),\"hint\":\(JSONText.string(error.hint ?? "")),"
      + "\"duration_seconds\":\(String(format: "%.3f", duration))}"
  }
}
