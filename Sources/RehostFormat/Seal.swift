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
/// Public-Key: <the signer's DER public key, base64>
/// Time: 2026-11-29T10:00:00Z
/// Signature: <Ed25519 signature, base64>
/// -----END REHOST SIGNATURE-----
/// ```
///
/// A signature signs its own block from the BEGIN line up to (not including) the
/// `Signature:` line. That text names the statement by hash, so signatures are added
/// without touching the statement or each other, and each one is checkable with
/// `sha256sum` and `openssl pkeyutl -verify -rawin` (docs/FORMAT.md, README). Each block
/// carries its signer's public key, so any change to any block is detected by anyone,
/// whether or not they trust that signer (``validate()``).
public struct Seal: Equatable, Sendable {
  public static let format = "rehost-seal/1"
  static let statementBegin = "-----BEGIN REHOST SEAL STATEMENT-----"
  static let statementEnd = "-----END REHOST SEAL STATEMENT-----"
  static let signatureBegin = "-----BEGIN REHOST SIGNATURE-----"
  static let signatureEnd = "-----END REHOST SIGNATURE-----"
  public static let maxSealBytes = 1 << 20
  static let maxSignatures = 1000

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
  public var statementSHA256: String { Hex.encode(SHA256.hash(Array(statementText.utf8))) }

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
    fields.append("Public-Key", Base64.encode(key.publicKeyDER()))
    fields.append("Time", time)
    for (name, value) in extra.pairs { fields.append(name, value) }
    var signature = SealSignature(fields: fields, signature: [])
    signature.signature = try key.sign(Array(signature.signedText.utf8))
    signatures.append(signature)
  }

  /// Checks what anyone can check without trusting anybody: every signature block
  /// names this statement, its `Key:` is its `Public-Key:`'s fingerprint and its
  /// signature verifies under that key; the sealer's block comes first and is the
  /// statement's `Sealer:`; no other block signs as sealer, and no signer signs twice in
  /// the same role. Throws `.seal`, naming the block.
  public func validate() throws {
    func altered(_ index: Int, _ why: String) -> RehostError {
      let s = signatures[index]
      return RehostError(.seal, "signature \(index + 1) (\(s.role), key \(s.keyFingerprint.prefix(16))…) \(why): the seal was altered",
                         hint: "do not trust this seal; get the original from the sealer")
    }
    guard let first = signatures.first else {
      throw RehostError(.seal, "the seal carries no signature", hint: "the seal was damaged or edited; use the original")
    }
    let statementHash = statementSHA256
    var seen: [String: Int] = [:]
    for (i, signature) in signatures.enumerated() {
      guard signature.statementSHA256 == statementHash else {
        throw RehostError(.seal, "signature \(i + 1) (\(signature.role), key \(signature.keyFingerprint.prefix(16))…) was made over a different statement: the seal statement was altered",
                          hint: "do not trust this seal; get the original from the sealer")
      }
      guard let key = signature.publicKey, key.fingerprint() == signature.keyFingerprint else {
        throw altered(i, "names a key (Key:) that is not its Public-Key")
      }
      guard key.verify(signature: signature.signature, message: Array(signature.signedText.utf8)) else {
        throw altered(i, "does not verify")
      }
      if let earlier = seen.updateValue(i, forKey: signature.role + " " + signature.keyFingerprint) {
        throw altered(i, "repeats signature \(earlier + 1) (the same key in the same role)")
      }
      if i > 0 && signature.role == "sealer" { throw altered(i, "claims the sealer's role, which only the first signature has") }
    }
    guard first.role == "sealer", first.keyFingerprint == statement.value("Sealer") else {
      throw altered(0, "is not the sealer's (the first signature must be the statement's Sealer:, in the role sealer)")
    }
  }

  /// Parses a seal file. Strict: it must be UTF-8 text in exactly the form ``encoded()``
  /// writes (statement, then signature blocks, nothing else, no blank lines), so what
  /// is verified is byte for byte what is on disk and what is printed.
  public static func parse(_ bytes: [UInt8]) throws -> Seal {
    func bad(_ line: Int, _ why: String) -> RehostError {
      RehostError(.seal, "the seal is malformed\(line > 0 ? " at line \(line)" : ""): \(why)",
                  hint: "the seal file was damaged or edited; use the original seal, or another copy")
    }
    guard bytes.count <= maxSealBytes else { throw bad(0, "larger than 1 MiB") }
    guard let text = String(validating: bytes, as: UTF8.self) else { throw bad(0, "it is not UTF-8 text") }
    guard bytes.last == 0x0a else { throw bad(0, "it does not end with a newline") }
    if zip(bytes, bytes.dropFirst()).contains(where: { $0 == 0x0d && $1 == 0x0a }) {
      throw RehostError(.seal, "the seal is malformed: its lines end with CR LF (as a Windows editor or a mail program writes them), not LF",
                        hint: "turn them back into LF (`sed -i 's/\\r$//' SEAL`) or use the original file; the signatures then decide whether it is intact")
    }
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
        guard SealFields.isValidName(name), SealFields.isValidValue(value), !value.isEmpty else { throw bad(i + 1, "invalid field") }
        fields.append(name, value)
        i += 1
      }
      guard i < lines.count else { throw bad(i, "missing '\(end)'") }
      i += 1
      return fields
    }
    guard lines.first == statementBegin else { throw bad(1, "expected '\(statementBegin)'") }
    let statement = try readBlock(statementEnd)
    guard statement.pairs.first?.0 == "Format", statement.value("Format") == format else {
      throw bad(2, "format is '\(statement.value("Format") ?? "none")', expected '\(format)'")
    }
    var signatures: [SealSignature] = []
    while i < lines.count {
      guard lines[i] == signatureBegin else { throw bad(i + 1, "expected '\(signatureBegin)'") }
      guard signatures.count < maxSignatures else { throw bad(i + 1, "more than \(maxSignatures) signatures") }
      let start = i + 1
      var fields = try readBlock(signatureEnd)
      guard fields.pairs.last?.0 == "Signature", let sig = Base64.decode(fields.pairs.last!.1), sig.count == 64 else {
        throw bad(start, "signature block must end with a base64 'Signature:' line of 64 bytes")
      }
      fields.pairs.removeLast()
      let leading = ["Statement-SHA256", "Role", "Key", "Public-Key", "Time"]
      guard fields.pairs.count >= leading.count, zip(fields.pairs, leading).allSatisfy({ $0.0 == $1 }) else {
        throw bad(start, "a signature block starts with \(leading.joined(separator: ", ")), in that order")
      }
      guard fields.pairs.dropFirst(leading.count).allSatisfy({ !leading.contains($0.0) && $0.0 != "Signature" }) else {
        throw bad(start, "a signature block repeats one of its fields")
      }
      let signature = SealSignature(fields: fields, signature: sig)
      guard SealFields.isHexDigest(signature.statementSHA256), SealFields.isHexDigest(signature.keyFingerprint),
            Roles.isValid(signature.role), signature.role != "*", Timestamp.isValid(signature.time), signature.publicKey != nil else {
        throw bad(start, "a signature block has a malformed Statement-SHA256, Role, Key, Public-Key or Time")
      }
      signatures.append(signature)
    }
    let seal = Seal(statement: statement, signatures: signatures)
    guard Array(seal.encoded().utf8) == bytes else { throw bad(0, "not in canonical form") }
    return seal
  }

  public static func == (a: Seal, b: Seal) -> Bool { Array(a.encoded().utf8) == Array(b.encoded().utf8) }
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

  /// The signer's Ed25519 key, from `Public-Key:` (DER SubjectPublicKeyInfo, base64).
  public var publicKey: AsymmetricKey? {
    guard let der = fields.value("Public-Key").flatMap(Base64.decode), der.count == 44,
          der.prefix(12).elementsEqual(Self.ed25519Prefix) else { return nil }
    return try? AsymmetricKey.publicKey(.ed25519, raw: Array(der.suffix(32)))
  }

  /// The DER prefix of every Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
  static let ed25519Prefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

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
    !name.isEmpty && name.unicodeScalars.allSatisfy { ($0 >= "A" && $0 <= "Z") || ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" }
  }

  /// Values are one line of printable text: no control characters, no separators or
  /// marks that hide or reorder text (``TextEscape/isHidden(_:)``), no leading or
  /// trailing space.
  public static func isValidValue(_ value: String) -> Bool {
    !value.unicodeScalars.contains { TextEscape.isHidden($0.value) } && value.first != " " && value.last != " "
  }

  /// 64 lower-case hex digits.
  static func isHexDigest(_ value: String) -> Bool {
    value.utf8.count == 64 && value.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
  }

  public static func == (a: SealFields, b: SealFields) -> Bool {
    a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { Array($0.0.utf8) == Array($1.0.utf8) && Array($0.1.utf8) == Array($1.1.utf8) }
  }
}

/// Role names: lower-case letters, digits and dashes, at most 40 (`*` in a policy means any).
public enum Roles {
  public static func isValid(_ role: String) -> Bool {
    role == "*" || (!role.isEmpty && role.utf8.count <= 40
      && role.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" })
  }
}
