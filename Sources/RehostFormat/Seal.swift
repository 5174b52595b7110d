import RehostBase
import RehostCrypto

/// The seal: a printable statement of what an archive is, followed by any number of
/// signatures over it (the sealer's first, then witnesses').
///
/// ```
/// -----BEGIN REHOST SEAL STATEMENT-----
/// Format: rehost-seal/1
/// Archive-SHA256: 9f86d0…
/// …
/// -----END REHOST SEAL STATEMENT-----
/// -----BEGIN REHOST SIGNATURE-----
/// Statement-SHA256: <SHA-256 of the statement block, BEGIN and END lines included>
/// Role: sealer
/// Key: <SHA-256 of the signer's DER public key>
/// Time: 2026-11-29T10:00:00Z
/// Signature: <Ed25519 signature, base64>
/// -----END REHOST SIGNATURE-----
/// ```
///
/// A signature signs its own block from the BEGIN line up to (not including) the
/// `Signature:` line. That text names the statement by hash, so signatures are added
/// without touching the statement or each other, and each one is checkable with
/// `sha256sum` and `openssl pkeyutl -verify -rawin` (docs/FORMAT.md, README).
public struct Seal: Equatable, Sendable {
  public static let format = "rehost-seal/1"
  static let statementBegin = "-----BEGIN REHOST SEAL STATEMENT-----"
  static let statementEnd = "-----END REHOST SEAL STATEMENT-----"
  static let signatureBegin = "-----BEGIN REHOST SIGNATURE-----"
  static let signatureEnd = "-----END REHOST SIGNATURE-----"
  static let maxSealBytes = 1 << 20

  public var statement: SealFields
  public var signatures: [SealSignature]

  public init(statement: SealFields, signatures: [SealSignature] = []) {
    self.statement = statement
    self.signatures = signatures
  }

  /// The statement block exactly as written, BEGIN and END lines included.
  public var statementText: String {
    Self.statementBegin + "\n" + statement.text + Self.statementEnd + "\n"
  }

  /// SHA-256 of ``statementText``, hex.
  public var statementSHA256: String { Hex.encode(SHA256.hash(statementText)) }

  /// The whole seal file.
  public func encoded() -> String {
    statementText + signatures.map(\.text).joined()
  }

  /// Adds a signature by `key` over this statement.
  public mutating func sign(role: String, key: AsymmetricKey, time: String, extra: SealFields = SealFields()) throws {
    var fields = SealFields()
    fields.append("Statement-SHA256", statementSHA256)
    fields.append("Role", role)
    fields.append("Key", key.fingerprint())
    fields.append("Time", time)
    for (name, value) in extra.pairs { fields.append(name, value) }
    var signature = SealSignature(fields: fields, signature: [])
    signature.signature = try key.sign(Array(signature.signedText.utf8))
    signatures.append(signature)
  }

  /// Checks that `signature` is over this statement and verifies under `key`.
  public func verify(_ signature: SealSignature, with key: AsymmetricKey) -> Bool {
    signature.statementSHA256 == statementSHA256 && signature.keyFingerprint == key.fingerprint()
      && key.verify(signature: signature.signature, message: Array(signature.signedText.utf8))
  }

  /// Parses a seal file. Strict: anything but the statement, signature blocks and
  /// blank lines between them is an error.
  public static func parse(_ text: String) throws -> Seal {
    func bad(_ line: Int, _ why: String) -> RehostError {
      RehostError(.seal, "the seal is malformed at line \(line): \(why)",
                  hint: "the seal file was damaged or edited; use the original seal, or another copy")
    }
    guard text.utf8.count <= maxSealBytes else { throw bad(0, "larger than 1 MiB") }
    guard text.hasSuffix("\n") else { throw bad(0, "it does not end with a newline") }
    let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var i = 0
    func readBlock(_ end: String) throws -> SealFields {
      var fields = SealFields()
      i += 1
      while i < lines.count, lines[i] != end {
        guard let colon = lines[i].firstIndex(of: ":"), lines[i][colon...].hasPrefix(": ") else {
          throw bad(i + 1, "expected 'Name: value'")
        }
        let name = String(lines[i][..<colon])
        let value = String(lines[i][lines[i].index(colon, offsetBy: 2)...])
        guard SealFields.isValidName(name), SealFields.isValidValue(value) else { throw bad(i + 1, "invalid field") }
        fields.append(name, value)
        i += 1
      }
      guard i < lines.count else { throw bad(i, "missing '\(end)'") }
      i += 1
      return fields
    }
    guard lines.first == statementBegin else { throw bad(1, "expected '\(statementBegin)'") }
    let statement = try readBlock(statementEnd)
    guard statement.value("Format") == format else {
      throw bad(2, "format is '\(statement.value("Format") ?? "none")', expected '\(format)'")
    }
    var signatures: [SealSignature] = []
    while i < lines.count {
      if lines[i].isEmpty { i += 1; continue }
      guard lines[i] == signatureBegin else { throw bad(i + 1, "expected '\(signatureBegin)'") }
      let start = i + 1
      var fields = try readBlock(signatureEnd)
      guard fields.pairs.last?.0 == "Signature", let sig = Base64.decode(fields.pairs.last!.1), sig.count == 64 else {
        throw bad(start, "signature block must end with a base64 'Signature:' line")
      }
      fields.pairs.removeLast()
      for required in ["Statement-SHA256", "Role", "Key", "Time"] where fields.value(required) == nil {
        throw bad(start, "signature block lacks '\(required):'")
      }
      signatures.append(SealSignature(fields: fields, signature: sig))
    }
    let seal = Seal(statement: statement, signatures: signatures)
    // Re-encoding must give the same bytes (modulo blank lines), so what is verified is what is printed.
    guard seal.encoded() == lines.filter({ !$0.isEmpty }).joined(separator: "\n") + "\n" else {
      throw bad(0, "not in canonical form")
    }
    return seal
  }
}

/// One signature block.
public struct SealSignature: Equatable, Sendable {
  /// Every field but `Signature`, in order.
  public var fields: SealFields
  public var signature: [UInt8]

  public var statementSHA256: String { fields.value("Statement-SHA256") ?? "" }
  public var role: String { fields.value("Role") ?? "" }
  public var keyFingerprint: String { fields.value("Key") ?? "" }
  public var time: String { fields.value("Time") ?? "" }

  /// The exact bytes signed: BEGIN line and fields, each line ending in a newline.
  public var signedText: String { Seal.signatureBegin + "\n" + fields.text }

  var text: String {
    signedText + "Signature: \(Base64.encode(signature))\n" + Seal.signatureEnd + "\n"
  }
}

/// Ordered `Name: value` lines. Names repeat where a list is meant (`Recipient:`).
public struct SealFields: Equatable, Sendable {
  public var pairs: [(String, String)] = []

  public init() {}

  public mutating func append(_ name: String, _ value: String) {
    precondition(Self.isValidName(name) && Self.isValidValue(value), "invalid seal field \(name): \(value)")
    pairs.append((name, value))
  }

  public func value(_ name: String) -> String? { pairs.first { $0.0 == name }?.1 }
  public func values(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }

  var text: String { pairs.map { "\($0.0): \($0.1)\n" }.joined() }

  static func isValidName(_ name: String) -> Bool {
    !name.isEmpty && name.unicodeScalars.allSatisfy { CharacterSet.fieldName($0) }
  }

  /// Values are one line of printable text; no control characters.
  public static func isValidValue(_ value: String) -> Bool {
    value.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f && !(0x80..<0xa0).contains($0.value) }
      && value.first != " " && value.last != " "
  }

  public static func == (a: SealFields, b: SealFields) -> Bool {
    a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
  }
}

private enum CharacterSet {
  static func fieldName(_ s: Unicode.Scalar) -> Bool {
    (s >= "A" && s <= "Z") || (s >= "a" && s <= "z") || (s >= "0" && s <= "9") || s == "-"
  }
}
