import Foundation
import RehostBase
import RehostDatabases
import RehostFormat
import RehostServices

/// The `--json` objects (docs/JSON.md): one per run, on standard output, built from the
/// services' reports and nothing else, so text and JSON always say the same thing.
/// Keys are snake_case and sorted, a value that does not apply is left out; sizes are
/// bytes, hashes lower-case hex.
enum JSONReport {
  /// Prints `value` as one JSON object followed by a newline.
  static func print<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let data = (try? encoder.encode(value)) ?? Data("{\"status\":\"failed\",\"error\":\"could not encode the report\"}".utf8)
    FileHandle.standardOutput.write(data + Data("\n".utf8))
  }

  /// What a failed run prints with `--json`, beside the text on standard error (the
  /// same shape as `backup run --json`'s failure).
  struct Failure: Encodable {
    let command: String
    let status = "failed"
    /// The process exit code (README, "Exit codes").
    let exit: Int32
    /// The error's family: usage, corrupt, seal, key, refused, policy, failure, busy, ...
    let kind: String
    let error: String
    let hint: String?

    init(command: String, exit: Int32, kind: String, error: String, hint: String?) {
      (self.command, self.exit, self.kind, self.error, self.hint) = (command, exit, kind, error, hint)
    }

    init(command: String, exit: Int32, _ error: RehostError) {
      self.init(command: command, exit: exit, kind: error.kind.rawValue, error: error.message, hint: error.hint)
    }
  }

  /// The seal's statement, typed.
  struct Statement: Encodable {
    let archive: String
    let archiveSHA256: String
    let archiveSize: Int64
    let manifestSHA256: String
    let entries: Int
    let contentBytes: Int64
    let recipients: [String]
    let label: String
    let sources: [String]
    let host: String
    let created: String
    let sealer: String
    let tool: String
    let repository: Repository?

    struct Repository: Encodable {
      let id: String
      let sequence: Int
      let previousSealSHA256: String?
    }

    init(_ f: SealFacts) {
      archive = f.archiveName
      archiveSHA256 = f.archiveSHA256
      archiveSize = f.archiveSize
      manifestSHA256 = f.manifestSHA256
      entries = f.entries
      contentBytes = f.contentBytes
      recipients = f.recipients
      label = f.label
      sources = f.sources
      host = f.host
      created = f.created
      sealer = f.sealer
      tool = f.tool
      repository = f.repository.map { Repository(id: $0.id, sequence: $0.sequence, previousSealSHA256: $0.previousSealSHA256) }
    }
  }

  /// A signature block as written (seal show, inspect): not a verdict.
  struct SignatureBlock: Encodable {
    let role: String
    let key: String
    let time: String
    let bags: [String]
    let note: String?

    init(_ s: SealSignature) {
      role = s.role
      key = s.keyFingerprint
      time = s.time
      bags = s.fields.values("Bag")
      note = s.fields.value("Note")
    }
  }

  /// A signature as verify and restore judged it.
  struct CheckedSignature: Encodable {
    let index: Int
    let role: String
    let key: String
    let time: String
    let bags: [String]
    let note: String?
    let counted: Bool
    /// The trusted key file it was verified under, when counted.
    let trustedKey: String?
    /// Why it does not count, when not.
    let reason: String?

    init(_ c: SignatureCheck) {
      index = c.index
      role = c.role
      key = c.keyFingerprint
      time = c.time
      bags = c.bags
      note = c.note
      switch c.status {
      case .counted(let path): (counted, trustedKey, reason) = (true, path, nil)
      case .notCounted(let why): (counted, trustedKey, reason) = (false, nil, why)
      }
    }
  }

  /// The trust policy that was met (a run that does not meet it fails instead).
  struct Trust: Encodable {
    let source: String
    let requirements: [String]
    let met = true

    init(_ policy: TrustPolicy) {
      source = policy.source
      requirements = policy.requirements.map {
        switch $0 {
        case .role(let role, let count): "\(count) x \(role)"
        case .people(let n): "\(n) distinct people"
        }
      }
    }
  }

  struct Totals: Encodable {
    let entries: Int
    let files: Int
    let bytes: Int64
    init(_ t: ManifestTotals) { (entries, files, bytes) = (t.entries, t.files, t.bytes) }
  }

  struct SpecialEntry: Encodable {
    let path: String
    let why: String
  }

  struct Database: Encodable {
    let name: String
    let method: String
    let server: String
    let tables: Int
    let rows: Int64
    let dumpBytes: Int64
    /// Whether the server's roles and grants were taken too.
    let roles: Bool
    init(_ d: ManifestDatabase) {
      (name, method, server, tables, dumpBytes, roles) = (d.name, d.method, d.server, d.tables.count, d.bytes, d.roles != nil)
      rows = d.tables.reduce(0) { $0 + $1.rows }
    }
  }

  /// What a deep verify (or restore) found inside.
  struct Content: Encodable {
    let totals: Totals
    let secrets: [String]
    let specialEntries: [SpecialEntry]
    let databases: [Database]
    init(_ p: PayloadSummary) {
      totals = Totals(p.totals)
      secrets = p.manifestHeader.secrets ?? []
      specialEntries = p.specialEntries.map { SpecialEntry(path: $0.path.description, why: $0.why) }
      databases = p.databases.map(Database.init)
    }
  }

  struct RestoredTable: Encodable {
    let name: String
    let passed: Bool
    let expectedRows: Int64?
    let rows: Int64?
    let expectedChecksum: String?
    let checksum: String?
    let summary: String
    init(_ t: TableCheck) {
      (name, passed, summary) = (t.name, t.passed, t.summary)
      (expectedRows, expectedChecksum) = (t.expected?.rows, t.expected?.checksum)
      (rows, checksum) = (t.actual?.rows, t.actual?.checksum)
    }
  }

  struct RestoredDatabase: Encodable {
    let name: String
    let method: String
    let target: String
    let tables: [RestoredTable]
    let roles: Roles?

    /// The server's roles restored first: each as the dump quotes it.
    struct Roles: Encodable {
      let restored: [String]
      let existed: [String]
    }

    init(_ d: DatabaseRestoreReport) {
      (name, method, target) = (d.name, d.method, d.target)
      tables = d.tables.map(RestoredTable.init)
      roles = d.roles.map { Roles(restored: $0.roles, existed: $0.existing) }
    }
  }
}
