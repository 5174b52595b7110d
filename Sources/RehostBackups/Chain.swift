import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import RehostStorage

/// A repository's `chain.jsonl` (docs/BACKUP.md, "The chain"): a signed log, by the
/// repository's signer, of its creation, every backup and every prune, in order.
public struct Chain: Sendable {
  public enum Event: String, Sendable {
    case initialized = "init", backup, prune
  }

  /// A backup as the chain records it.
  public struct Backup: Sendable, Equatable {
    public let sequence: Int
    public let archive: String
    public let archiveSHA256: String
    public let archiveSize: Int64
    public let sealSHA256: String
    public let created: String
    public let entries: Int64
    public let contentBytes: Int64
    /// The chain line (1-based) that records it.
    public let line: Int

    var fields: [(String, SignedValue)] {
      [("sequence", .int(Int64(sequence))), ("archive", .string(archive)), ("archive_sha256", .string(archiveSHA256)),
       ("archive_size", .int(archiveSize)), ("seal_sha256", .string(sealSHA256)), ("created", .string(created)),
       ("entries", .int(entries)), ("content_bytes", .int(contentBytes))]
    }
  }

  /// A prune as the chain records it: which backup, under which retention.
  public struct Prune: Sendable, Equatable {
    public let sequence: Int
    public let policy: String
    public let line: Int
    /// The backups recorded and not pruned just before the prune this record belongs to
    /// (consecutive prune lines are one prune).
    public let liveBefore: [Int]
  }

  public let lines: [SignedLine]
  public let backups: [Backup]
  public let prunes: [Int: Prune]
  /// The SHA-256 of the last line (the next line's `prev`).
  public let head: String

  public var last: Backup? { backups.last }
  public var live: [Backup] { backups.filter { prunes[$0.sequence] == nil } }
  public func backup(_ sequence: Int) -> Backup? {
    sequence >= 1 && sequence <= backups.count ? backups[sequence - 1] : nil
  }

  static let fields: [Event: [String]] = [
    .initialized: ["repository", "repository_sha256"],
    .backup: ["sequence", "archive", "archive_sha256", "archive_size", "seal_sha256", "created", "entries", "content_bytes"],
    .prune: ["sequence", "archive", "seal_sha256", "policy"],
  ]

  /// Reads and checks the chain of `repository`: every line canonical, chained and signed
  /// by the repository's signer; the first the repository's creation; backups numbered
  /// 1, 2, 3... in order; prunes of recorded backups, once each.
  /// - Parameter bytes: the chain's bytes (read from the repository if nil).
  /// - Throws: `.corrupt` (a damaged line), `.seal` (the chain broken), naming the line.
  public static func read(_ repository: Repository, bytes given: [UInt8]? = nil) throws -> Chain {
    let path = repository.chainPath
    guard let bytes = try given ?? repository.files.read(Repository.chainName, what: "chain", limit: 1 << 30) else {
      throw RehostError(.seal, "\(path) is missing: the repository's history is gone", hint: "restore it from a copy (an offsite one); do not trust this repository until then")
    }
    func at(_ line: Int, _ kind: RehostError.Kind, _ why: String) -> RehostError {
      RehostError(kind, "\(path):\(line): \(why)",
                  hint: kind == .corrupt ? "the chain was damaged; restore it from a copy (verify-chain --state tells an older copy)"
                    : "the chain was altered after it was written: do not trust this repository's history")
    }
    let (raw, cutShort) = SignedLog.lines(bytes)
    if cutShort { throw at(raw.count, .corrupt, "the last line is incomplete (the file was cut short)") }
    guard !raw.isEmpty else { throw RehostError(.seal, "\(path) is empty", hint: "a repository's chain begins when it is created") }
    var lines: [SignedLine] = []
    var backups: [Backup] = []
    var prunes: [Int: Prune] = [:]
    var head = "", lastTime = ""
    var liveBefore: [Int]?
    for (index, bytes) in raw.enumerated() {
      let n = index + 1
      let line: SignedLine
      // Order is the sequence and the hashes; a host's clock set back must not stop its backups.
      switch SignedLog.check(bytes, index: index, head: head, lastTime: lastTime, monotonic: false) {
      case .success(let checked): line = checked
      case .failure(let problem): throw at(n, problem.kind, problem.why)
      }
      guard line.actor == repository.signer else {
        throw at(n, .seal, "signed by key \(line.actor.prefix(16))…, not the repository's signer (\(repository.signer.prefix(16))…)")
      }
      guard let event = Event(rawValue: line.event), line.fields.map(\.0) == fields[event] else {
        throw at(n, .corrupt, "not a chain line: an unknown event, or fields other than docs/BACKUP.md lists")
      }
      if index == 0 {
        guard event == .initialized, line.field("repository")?.string == repository.id,
              line.field("repository_sha256")?.string == repository.infoSHA256 else {
          throw at(n, .seal, "the first line is not the creation of this repository (\(repository.id), \(Repository.infoName) as written then)")
        }
      } else if event == .initialized {
        throw at(n, .seal, "a second creation")
      }
      if event != .prune { liveBefore = nil }
      switch event {
      case .initialized: break
      case .backup:
        guard let sequence = line.field("sequence")?.int, let archive = line.field("archive")?.string,
              let archiveSHA = line.field("archive_sha256")?.string, let size = line.field("archive_size")?.int,
              let sealSHA = line.field("seal_sha256")?.string, let created = line.field("created")?.string,
              let entries = line.field("entries")?.int, let content = line.field("content_bytes")?.int,
              Repository.sequence(inName: archive) == Int(sequence), Timestamp.isValid(created) else {
          throw at(n, .corrupt, "a backup line whose fields are not all there, or whose archive name is not its sequence's")
        }
        guard Int(sequence) == backups.count + 1 else {
          throw at(n, .seal, "backup \(sequence) recorded where \(backups.count + 1) was due")
        }
        backups.append(Backup(sequence: Int(sequence), archive: archive, archiveSHA256: archiveSHA, archiveSize: size,
                              sealSHA256: sealSHA, created: created, entries: entries, contentBytes: content, line: n))
      case .prune:
        guard let sequence = line.field("sequence")?.int.map(Int.init), let policy = line.field("policy")?.string,
              Retention(description: policy) != nil else {
          throw at(n, .corrupt, "a prune line without its sequence, or with a retention that is not one")
        }
        guard let backup = backups.indices.contains(sequence - 1) ? backups[sequence - 1] : nil,
              line.field("archive")?.string == backup.archive, line.field("seal_sha256")?.string == backup.sealSHA256 else {
          throw at(n, .seal, "a prune of backup \(sequence), which the chain does not record as it names it")
        }
        guard prunes[sequence] == nil else { throw at(n, .seal, "backup \(sequence) pruned twice") }
        let before = liveBefore ?? backups.map(\.sequence).filter { prunes[$0] == nil }
        liveBefore = before
        prunes[sequence] = Prune(sequence: sequence, policy: policy, line: n, liveBefore: before)
      }
      lines.append(line)
      head = SignedLog.hash(bytes)
      lastTime = line.time
    }
    return Chain(lines: lines, backups: backups, prunes: prunes, head: head)
  }

  /// Opens the chain for appending (after ``read(_:bytes:)``).
  public func appender(_ repository: Repository) throws -> SignedLogFile {
    try SignedLogFile(path: repository.chainPath, head: head, nextSeq: lines.count)
  }

  /// Appends the record of `backup`.
  public static func record(_ backup: Backup, to log: SignedLogFile, signer: AsymmetricKey) throws {
    try log.append(Event.backup.rawValue, backup.fields, signer: signer)
  }

  /// Appends the record of a prune of `backup` under `retention`.
  public static func recordPrune(_ backup: Backup, retention: Retention, to log: SignedLogFile, signer: AsymmetricKey) throws {
    try log.append(Event.prune.rawValue, [("sequence", .int(Int64(backup.sequence))), ("archive", .string(backup.archive)),
                                          ("seal_sha256", .string(backup.sealSHA256)), ("policy", .string(retention.description))],
                   signer: signer)
  }
}
