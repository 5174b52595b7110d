import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// A value in a journal line: text, a whole number, true/false, or an object of texts.
public enum JournalValue: Equatable, Sendable {
  case string(String)
  case int(Int64)
  case bool(Bool)
  case object([(String, String)])

  public var string: String? { if case .string(let s) = self { s } else { nil } }
  public var int: Int64? { if case .int(let n) = self { n } else { nil } }
  public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
  public var object: [(String, String)]? { if case .object(let o) = self { o } else { nil } }

  public static func == (a: JournalValue, b: JournalValue) -> Bool {
    switch (a, b) {
    case (.string(let x), .string(let y)): x == y
    case (.int(let x), .int(let y)): x == y
    case (.bool(let x), .bool(let y)): x == y
    case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0 == $1 }
    default: false
    }
  }

  var json: String {
    switch self {
    case .string(let s): JSONText.string(s)
    case .int(let n): String(n)
    case .bool(let b): b ? "true" : "false"
    case .object(let pairs): "{" + pairs.map { JSONText.string($0.0) + ":" + JSONText.string($0.1) }.joined(separator: ",") + "}"
    }
  }
}

/// One line of a run's journal (`DIR/journal.jsonl`, docs/RUNBOOK.md): what happened,
/// to which step, by whom, chained to the line before it by that line's SHA-256, and
/// signed by the runner's Ed25519 key.
///
/// The line is one JSON object with its keys in this order: `seq`, `time`, `event`,
/// `step` (when the event is a step's), the event's own fields, `actor` (the signer's
/// fingerprint), `key` (its public key, DER, base64), `prev`, `sig`. The signature is
/// over the line without its `,"sig":"..."` member: the bytes up to that member, then `}`.
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
    self.seq = seq
    self.time = time
    self.event = event
    self.step = step
    self.fields = fields
    self.actor = actor
    self.key = key
    self.prev = prev
    self.signature = signature
  }

  public func field(_ name: String) -> JournalValue? { fields.first { $0.0 == name }?.1 }

  /// The bytes signed: the line without `,"sig":"..."`.
  public var signedText: String {
    var s = "{\"seq\":\(seq),\"time\":\(JSONText.string(time)),\"event\":\(JSONText.string(event.rawValue))"
    if let step { s += ",\"step\":" + JSONText.string(step) }
    for (name, value) in fields { s += "," + JSONText.string(name) + ":" + value.json }
    s += ",\"actor\":\(JSONText.string(actor)),\"key\":\(JSONText.string(Base64.encode(key))),\"prev\":\(JSONText.string(prev))"
    return s + "}"
  }

  /// The whole line, without its newline.
  public var line: String { String(signedText.dropLast()) + ",\"sig\":\(JSONText.string(Base64.encode(signature)))}" }

  /// Signs the entry as `signer`.
  public mutating func sign(with signer: AsymmetricKey) throws {
    actor = signer.fingerprint()
    key = signer.publicKeyDER()
    signature = try signer.sign(Array(signedText.utf8))
  }

  /// The signer's key, when `key` is an Ed25519 public key whose fingerprint is `actor`.
  public var signerKey: AsymmetricKey? {
    guard key.count == 44, key.prefix(12).elementsEqual(JournalEntry.ed25519Prefix),
          let k = try? AsymmetricKey.publicKey(.ed25519, raw: Array(key.suffix(32))), k.fingerprint() == actor else { return nil }
    return k
  }

  static let ed25519Prefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

  /// Reads a line written by ``line``; nil when it is not one, byte for byte.
  public static func parse(_ bytes: [UInt8]) -> JournalEntry? {
    guard let text = String(validating: bytes, as: UTF8.self), let pairs = try? JSONSubset.object(text) else { return nil }
    var i = 0
    func take(_ name: String) -> JournalValue? {
      guard i < pairs.count, pairs[i].0 == name else { return nil }
      i += 1
      return pairs[i - 1].1
    }
    guard let seq = take("seq")?.int, let time = take("time")?.string, let eventName = take("event")?.string,
          let event = Event(rawValue: eventName) else { return nil }
    let step = pairs.indices.contains(i) && pairs[i].0 == "step" ? take("step")?.string : nil
    var fields: [(String, JournalValue)] = []
    while i < pairs.count, !["actor", "key", "prev", "sig"].contains(pairs[i].0) {
      // A field may not be named like the line's own members, nor come twice.
      guard !["seq", "time", "event", "step"].contains(pairs[i].0), !fields.contains(where: { $0.0 == pairs[i].0 }) else { return nil }
      fields.append(pairs[i])
      i += 1
    }
    guard let actor = take("actor")?.string, let key = take("key")?.string.flatMap(Base64.decode),
          let prev = take("prev")?.string, let sig = take("sig")?.string.flatMap(Base64.decode), i == pairs.count else { return nil }
    let entry = JournalEntry(seq: Int(seq), time: time, event: event, step: step, fields: fields, actor: actor, key: key,
                             prev: prev, signature: sig)
    guard Array(entry.line.utf8) == bytes else { return nil }
    return entry
  }

  /// Verifies the signature over ``signedText`` with the key the line carries.
  public var signatureVerifies: Bool {
    signerKey?.verify(signature: signature, message: Array(signedText.utf8)) ?? false
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

  public let path: String
  private let fd: Int32
  /// The last line's SHA-256 (with its newline), and the next sequence number.
  public private(set) var head: String
  public private(set) var nextSeq: Int

  /// Opens the journal in `directory`, created if absent.
  public init(directory: String, head: String, nextSeq: Int) throws {
    path = directory + "/" + Self.name
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard fd >= 0 else { throw SystemError.io("open the journal", path) }
    self.head = head
    self.nextSeq = nextSeq
  }

  deinit { close(fd) }

  /// Signs `entry` (its sequence, time and chain filled in here) and appends it.
  @discardableResult
  public func append(_ event: JournalEntry.Event, step: String? = nil, _ fields: [(String, JournalValue)] = [],
                     signer: AsymmetricKey) throws -> JournalEntry {
    var entry = JournalEntry(seq: nextSeq, time: Timestamp.now(), event: event, step: step, fields: fields, prev: head)
    try entry.sign(with: signer)
    let bytes = Array((entry.line + "\n").utf8)
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count, fsync(fd) == 0 else {
      throw SystemError.io("append to the journal", path)
    }
    head = Hex.encode(SHA256.hash(bytes))
    nextSeq += 1
    return entry
  }
}

/// A reader of the small JSON subset journal lines use: one object of string keys whose
/// values are strings, integers, true/false, or objects of strings. Keys keep their order.
enum JSONSubset {
  struct Failure: Error {}

  static func object(_ text: String) throws -> [(String, JournalValue)] {
    var scalars = Array(text.unicodeScalars)[...]
    let pairs = try object(&scalars, nested: false)
    guard scalars.isEmpty else { throw Failure() }
    return pairs
  }

  private static func object(_ s: inout ArraySlice<Unicode.Scalar>, nested: Bool) throws -> [(String, JournalValue)] {
    guard s.popFirst() == "{" else { throw Failure() }
    var pairs: [(String, JournalValue)] = []
    if s.first == "}" { s.removeFirst(); return pairs }
    while true {
      let key = try string(&s)
      guard s.popFirst() == ":" else { throw Failure() }
      switch s.first {
      case "\"": pairs.append((key, .string(try string(&s))))
      case "{" where !nested:
        let inner = try object(&s, nested: true)
        pairs.append((key, .object(try inner.map { guard case .string(let v) = $0.1 else { throw Failure() }; return ($0.0, v) })))
      case "t", "f":
        let word = s.prefix(while: { $0 >= "a" && $0 <= "z" })
        guard word.elementsEqual("true".unicodeScalars) || word.elementsEqual("false".unicodeScalars) else { throw Failure() }
        pairs.append((key, .bool(word.count == 4)))
        s.removeFirst(word.count)
      default:
        let digits = s.prefix(while: { $0 == "-" || ($0 >= "0" && $0 <= "9") })
        guard let n = Int64(String(String.UnicodeScalarView(digits))) else { throw Failure() }
        pairs.append((key, .int(n)))
        s.removeFirst(digits.count)
      }
      switch s.popFirst() {
      case ",": continue
      case "}": return pairs
      default: throw Failure()
      }
    }
  }

  private static func string(_ s: inout ArraySlice<Unicode.Scalar>) throws -> String {
    guard s.popFirst() == "\"" else { throw Failure() }
    var out = String.UnicodeScalarView()
    while let c = s.popFirst() {
      switch c {
      case "\"": return String(out)
      case "\\":
        guard let e = s.popFirst() else { throw Failure() }
        switch e {
        case "\"", "\\", "/": out.append(e)
        case "n": out.append("\n")
        case "r": out.append("\r")
        case "t": out.append("\t")
        case "b": out.append("\u{8}")
        case "f": out.append("\u{c}")
        case "u":
          let hex = String(String.UnicodeScalarView(s.prefix(4)))
          guard hex.count == 4, let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else { throw Failure() }
          s.removeFirst(4)
          out.append(scalar)
        default: throw Failure()
        }
      default:
        guard c.value >= 0x20 else { throw Failure() }
        out.append(c)
      }
    }
    throw Failure()
  }
}
