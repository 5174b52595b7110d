import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import RehostStorage

/// A value in a journal line (the signed log's values).
public typealias JournalValue = SignedValue

/// One line of a run's journal (`DIR/journal.jsonl`, docs/RUNBOOK.md): a signed log line
/// (``SignedLine``) whose event is a runbook's and whose first field, for a step's
/// events, is `step`.
public struct JournalEntry: Sendable {
  public enum Event: String, Sendable, CaseIterable {
    case begin, resumed, started, output, confirmed, value, witnessed, exception, finished, end
  }

  public var seq: Int
  public var time: String
  public var event: Event
  public var step: String?
  public var fields: [(String, JournalValue)]
  public var actor: String
  public var key: [UInt8]
  public var prev: String
  public var signature: [UInt8]

  public init(seq: Int, time: String, event: Event, step: String?, fields: [(String, JournalValue)],
              actor: String = "", key: [UInt8] = [], prev: String = "", signature: [UInt8] = []) {
    (self.seq, self.time, self.event, self.step, self.fields) = (seq, time, event, step, fields)
    (self.actor, self.key, self.prev, self.signature) = (actor, key, prev, signature)
  }

  init?(_ line: SignedLine) {
    guard let event = Event(rawValue: line.event) else { return nil }
    var fields = line.fields
    var step: String?
    if fields.first?.0 == "step" {
      guard let name = fields.removeFirst().1.string else { return nil }
      step = name
    }
    self.init(seq: line.seq, time: line.time, event: event, step: step, fields: fields, actor: line.actor, key: line.key,
              prev: line.prev, signature: line.signature)
  }

  /// The signed log line this entry is.
  public var signed: SignedLine {
    SignedLine(seq: seq, time: time, event: event.rawValue, fields: (step.map { [("step", .string($0))] } ?? []) + fields,
               actor: actor, key: key, prev: prev, signature: signature)
  }

  public func field(_ name: String) -> JournalValue? { fields.first { $0.0 == name }?.1 }

  /// The bytes signed: the line without `,"sig":"..."`.
  public var signedText: String { signed.signedText }

  /// The whole line, without its newline.
  public var line: String { signed.line }

  /// Signs the entry as `signer`.
  public mutating func sign(with signer: AsymmetricKey) throws {
    var line = signed
    try line.sign(with: signer)
    (actor, key, signature) = (line.actor, line.key, line.signature)
  }

  /// The signer's key, when `key` is an Ed25519 public key whose fingerprint is `actor`.
  public var signerKey: AsymmetricKey? { SignedLine.ed25519Key(der: key, fingerprint: actor) }

  /// Verifies the signature over ``signedText`` with the key the line carries.
  public var signatureVerifies: Bool { signed.signatureVerifies }

  /// Reads a line written by ``line``; nil when it is not one, byte for byte (`step`
  /// only as the first field).
  public static func parse(_ bytes: [UInt8]) -> JournalEntry? {
    guard let line = SignedLine.parse(bytes), let entry = JournalEntry(line), !entry.fields.contains(where: { $0.0 == "step" }) else { return nil }
    return entry
  }
}

/// What a witness signs: the runbook, the step, the journal's head when they signed,
/// their role, key and time, and every value recorded so far. One line per field, like
/// a seal's signature block; `openssl pkeyutl -verify -rawin` checks it (docs/RUNBOOK.md).
public struct WitnessStatement: Sendable, Equatable {
  public static let format = "rehost-runbook-witness/1"

  public var runbook: String
  public var step: String
  public var journalHead: String
  public var role: String
  public var key: String
  public var time: String
  /// `STEP.NAME` and the value, in the order they were recorded.
  public var values: [(String, String)]

  public static func == (a: WitnessStatement, b: WitnessStatement) -> Bool { a.text == b.text }

  public var text: String {
    var lines = [Self.format, "Runbook: \(runbook)", "Step: \(step)", "Journal-Head: \(journalHead)", "Role: \(role)",
                 "Key: \(key)", "Time: \(time)"]
    lines += values.map { "Value: \($0.0) \(TextEscape.escape(Array($0.1.utf8)))" }
    return lines.joined(separator: "\n") + "\n"
  }

  public init(runbook: String, step: String, journalHead: String, role: String, key: String, time: String, values: [(String, String)]) {
    (self.runbook, self.step, self.journalHead, self.role, self.key, self.time, self.values) = (runbook, step, journalHead, role, key, time, values)
  }

  /// The time a statement's text names (the verifier rebuilds the rest from the journal
  /// and compares the whole text, byte for byte).
  public static func time(in text: String) -> String? {
    text.split(separator: "\n").first { $0.hasPrefix("Time: ") }.map { String($0.dropFirst(6)) }
  }
}

/// The journal file: lines appended one at a time, each written whole and fsynced before
/// rehost does anything else.
public final class JournalFile {
  public static let name = "journal.jsonl"

  private let log: SignedLogFile
  public var path: String { log.path }
  /// The last line's SHA-256 (with its newline), and the next sequence number.
  public var head: String { log.head }
  public var nextSeq: Int { log.nextSeq }

  /// Opens the journal in `directory`, created if absent.
  public init(directory: String, head: String, nextSeq: Int) throws {
    log = try SignedLogFile(path: directory + "/" + Self.name, head: head, nextSeq: nextSeq)
  }

  /// Signs an entry (its sequence, time and chain filled in here) and appends it.
  @discardableResult
  public func append(_ event: JournalEntry.Event, step: String? = nil, _ fields: [(String, JournalValue)] = [],
                     signer: AsymmetricKey) throws -> JournalEntry {
    let line = try log.append(event.rawValue, (step.map { [("step", .string($0))] } ?? []) + fields, signer: signer)
    return JournalEntry(line)!
  }
}
