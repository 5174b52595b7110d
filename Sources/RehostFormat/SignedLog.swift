import RehostBase
import RehostCrypto

/// A value in a signed log line: text, a whole number, true/false, or an object of texts.
public enum SignedValue: Equatable, Sendable {
  case string(String)
  case int(Int64)
  case bool(Bool)
  case object([(String, String)])

  public var string: String? { if case .string(let s) = self { s } else { nil } }
  public var int: Int64? { if case .int(let n) = self { n } else { nil } }
  public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
  public var object: [(String, String)]? { if case .object(let o) = self { o } else { nil } }

  public static func == (a: SignedValue, b: SignedValue) -> Bool {
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

/// One line of a signed log: a runbook's journal (docs/RUNBOOK.md) or a backup
/// repository's chain (docs/BACKUP.md). What happened (`event` and its fields), chained
/// to the line before by that line's SHA-256, and signed by its actor's Ed25519 key.
///
/// The line is one JSON object with its keys in this order: `seq`, `time`, `event`, the
/// event's fields, `actor` (the signer's fingerprint), `key` (its public key, DER,
/// base64), `prev`, `sig`. The signature is over the line without its `,"sig":"..."`
/// member: the bytes up to that member, then `}`. A line must be exactly the bytes
/// writing its values gives, each key once.
public struct SignedLine: Sendable {
  public var seq: Int
  public var time: String
  public var event: String
  public var fields: [(String, SignedValue)]
  public var actor: String
  public var key: [UInt8]
  public var prev: String
  public var signature: [UInt8]

  /// The members every line has, which no field may be named.
  static let members: Set<String> = ["seq", "time", "event", "actor", "key", "prev", "sig"]

  public init(seq: Int, time: String, event: String, fields: [(String, SignedValue)],
              actor: String = "", key: [UInt8] = [], prev: String = "", signature: [UInt8] = []) {
    (self.seq, self.time, self.event, self.fields) = (seq, time, event, fields)
    (self.actor, self.key, self.prev, self.signature) = (actor, key, prev, signature)
  }

  public func field(_ name: String) -> SignedValue? { fields.first { $0.0 == name }?.1 }

  /// The bytes signed: the line without `,"sig":"..."`.
  public var signedText: String {
    var s = "{\"seq\":\(seq),\"time\":\(JSONText.string(time)),\"event\":\(JSONText.string(event))"
    for (name, value) in fields { s += "," + JSONText.string(name) + ":" + value.json }
    s += ",\"actor\":\(JSONText.string(actor)),\"key\":\(JSONText.string(Base64.encode(key))),\"prev\":\(JSONText.string(prev))"
    return s + "}"
  }

  /// The whole line, without its newline.
  public var line: String { String(signedText.dropLast()) + ",\"sig\":\(JSONText.string(Base64.encode(signature)))}" }

  /// Signs the line as `signer`.
  public mutating func sign(with signer: AsymmetricKey) throws {
    actor = signer.fingerprint()
    key = signer.publicKeyDER()
    signature = try signer.sign(Array(signedText.utf8))
  }

  /// The signer's key, when `key` is an Ed25519 public key whose fingerprint is `actor`.
  public var signerKey: AsymmetricKey? { Self.ed25519Key(der: key, fingerprint: actor) }

  /// The Ed25519 key `der` holds (a 44-byte SubjectPublicKeyInfo), if its fingerprint is `fingerprint`.
  public static func ed25519Key(der: [UInt8], fingerprint: String) -> AsymmetricKey? {
    guard der.count == 44, der.prefix(12).elementsEqual(ed25519Prefix),
          let k = try? AsymmetricKey.publicKey(.ed25519, raw: Array(der.suffix(32))), k.fingerprint() == fingerprint else { return nil }
    return k
  }

  static let ed25519Prefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

  /// Verifies the signature over ``signedText`` with the key the line carries.
  public var signatureVerifies: Bool {
    signerKey?.verify(signature: signature, message: Array(signedText.utf8)) ?? false
  }

  /// Reads a line written by ``line``; nil when it is not one, byte for byte.
  public static func parse(_ bytes: [UInt8]) -> SignedLine? {
    guard let text = String(validating: bytes, as: UTF8.self), let pairs = try? JSONSubset.object(text) else { return nil }
    var i = 0
    func take(_ name: String) -> SignedValue? {
      guard i < pairs.count, pairs[i].0 == name else { return nil }
      i += 1
      return pairs[i - 1].1
    }
    guard let seq = take("seq")?.int, let time = take("time")?.string, let event = take("event")?.string else { return nil }
    var fields: [(String, SignedValue)] = []
    while i < pairs.count, !["actor", "key", "prev", "sig"].contains(pairs[i].0) {
      guard !members.contains(pairs[i].0), !fields.contains(where: { $0.0 == pairs[i].0 }) else { return nil }
      fields.append(pairs[i])
      i += 1
    }
    guard let actor = take("actor")?.string, let key = take("key")?.string.flatMap(Base64.decode),
          let prev = take("prev")?.string, let sig = take("sig")?.string.flatMap(Base64.decode), i == pairs.count else { return nil }
    let line = SignedLine(seq: Int(seq), time: time, event: event, fields: fields, actor: actor, key: key, prev: prev, signature: sig)
    guard Array(line.line.utf8) == bytes else { return nil }
    return line
  }
}

/// Reading a signed log line by line: the checks every such log shares.
public enum SignedLog {
  /// What is wrong with a line: `.corrupt` (damaged, not canonical) or `.seal` (the
  /// chain or a signature broken), and why.
  public struct Problem: Error, Sendable {
    public let kind: RehostError.Kind
    public let why: String
  }

  /// The lines of a log, each without its newline; a last line without one is a problem
  /// of that line (the file was cut short).
  public static func lines(_ bytes: [UInt8]) -> (lines: [[UInt8]], cutShort: Bool) {
    var lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false).map(Array.init)
    if lines.last == [] {
      lines.removeLast()
      return (lines, false)
    }
    return (lines, true)
  }

  /// Checks line `index` (0-based): written the canonical way, its sequence number, the
  /// previous line's hash, its key and signature, and a time not before `lastTime`
  /// (unless `monotonic` is false: a host's clock may be set back).
  public static func check(_ raw: [UInt8], index: Int, head: String, lastTime: String, monotonic: Bool = true) -> Result<SignedLine, Problem> {
    guard let line = SignedLine.parse(raw) else { return .failure(Problem(kind: .corrupt, why: "not a line written the canonical way")) }
    guard line.seq == index else {
      return .failure(Problem(kind: .seal, why: "sequence \(line.seq) where \(index) was due: a line was removed, added or moved"))
    }
    guard line.prev == head else { return .failure(Problem(kind: .seal, why: "it does not name the line before it (prev is not that line's SHA-256)")) }
    guard line.signerKey != nil else { return .failure(Problem(kind: .seal, why: "its key is not an Ed25519 key whose fingerprint is its actor")) }
    guard line.signatureVerifies else { return .failure(Problem(kind: .seal, why: "its signature does not verify: the line was changed")) }
    guard Timestamp.isValid(line.time), line.time >= lastTime || !monotonic else {
      return .failure(Problem(kind: .seal, why: "its time \(line.time) is before the line above's (\(lastTime))"))
    }
    return .success(line)
  }

  /// The SHA-256 (hex) of a line with its newline: the next line's `prev`.
  public static func hash(_ raw: [UInt8]) -> String { Hex.encode(SHA256.hash(raw + [0x0a])) }
}

/// A reader of the small JSON subset signed lines use: one object of string keys whose
/// values are strings, integers, true/false, or objects of strings. Keys keep their order.
enum JSONSubset {
  struct Failure: Error {}

  static func object(_ text: String) throws -> [(String, SignedValue)] {
    var scalars = Array(text.unicodeScalars)[...]
    let pairs = try object(&scalars, nested: false)
    guard scalars.isEmpty else { throw Failure() }
    return pairs
  }

  private static func object(_ s: inout ArraySlice<Unicode.Scalar>, nested: Bool) throws -> [(String, SignedValue)] {
    guard s.popFirst() == "{" else { throw Failure() }
    var pairs: [(String, SignedValue)] = []
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
