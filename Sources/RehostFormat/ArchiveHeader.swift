import Foundation
import RehostBase
import RehostCrypto

/// One wrapped copy of the archive's data key, for one recipient.
///
/// Text form: `recipient TYPE ARG...` then one line of base64 body.
public struct Stanza: Equatable, Sendable {
  public var type: String
  public var arguments: [String]
  public var body: [UInt8]

  public init(type: String, arguments: [String], body: [UInt8]) {
    self.type = type
    self.arguments = arguments
    self.body = body
  }

  /// The first line, also the associated data of the wrapped key: changing a
  /// stanza's type or arguments makes its key fail to unwrap.
  public var line: String { (["recipient", type] + arguments).joined(separator: " ") }

  /// How the seal's `Recipient:` lines name this stanza (see ``Recipient/sealDescriptions``).
  public var sealDescription: String {
    switch type {
    case "x25519": "x25519 \(arguments.first ?? "")"
    case "scrypt": "scrypt passphrase"
    case "share": "share \(arguments.first ?? "") x25519 \(arguments.dropFirst(2).first ?? "")"
    default: type
    }
  }
}

/// The text header at the start of every `.rehost` file; the binary payload follows it.
///
/// ```
/// rehost-archive/1
/// recipient x25519 <recipient fingerprint> <ephemeral public key, base64>
/// <wrapped data key, base64>
/// recipient scrypt <salt, base64> <log2 N>
/// <wrapped data key, base64>
/// chunk-size 65536
/// payload-salt <base64>
/// mac <HMAC-SHA256 of every byte above this line, base64>
/// ```
/// See docs/FORMAT.md.
public struct ArchiveHeader: Equatable, Sendable {
  public static let magic = "rehost-archive/1"
  /// Headers are small; anything larger is not ours.
  static let maxHeaderBytes = 256 * 1024
  static let maxLineBytes = 4096
  static let maxStanzas = 1024

  /// What is wrong with the recipient stanzas, if anything: each stanza of a type rehost
  /// knows must be well formed (so even `inspect` refuses `logN 62`), custodian shares
  /// come as one complete k-of-n group, and not mixed with anything that opens the
  /// archive alone.
  static func checkStanzas(_ stanzas: [Stanza]) -> String? {
    for (i, stanza) in stanzas.enumerated() {
      guard stanza.type.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }) else {
        return "recipient \(i + 1) has a type that is not lower-case letters, digits and dashes"
      }
      let known: Bool
      switch stanza.type {
      case X25519Recipient.stanzaType: known = X25519Recipient.isWellFormed(stanza)
      case PassphraseRecipient.stanzaType: known = PassphraseRecipient.isWellFormed(stanza)
      case CustodianGroup.stanzaType: known = (try? ShareStanza(stanza)) != nil && stanza.body.count == 48
      default: continue  // a type of a later version: kept and skipped
      }
      if !known { return "recipient \(i + 1) (\(stanza.type)) is malformed" }
    }
    let shares = stanzas.compactMap { try? ShareStanza($0) }
    if let first = shares.first {
      guard shares.allSatisfy({ $0.threshold == first.threshold && $0.total == first.total }),
            Set(shares.map(\.index)).count == shares.count, shares.count == first.total else {
        return "its custodian shares are not one complete \(first.threshold)-of-\(first.total) group"
      }
      if stanzas.contains(where: { $0.type == X25519Recipient.stanzaType || $0.type == PassphraseRecipient.stanzaType }) {
        return "custodian shares are mixed with recipients that could open the archive alone"
      }
    }
    return nil
  }

  public var stanzas: [Stanza]
  public var chunkSize: Int
  public var payloadSalt: [UInt8]
  public var mac: [UInt8]

  public init(stanzas: [Stanza], chunkSize: Int, payloadSalt: [UInt8], mac: [UInt8] = []) {
    self.stanzas = stanzas
    self.chunkSize = chunkSize
    self.payloadSalt = payloadSalt
    self.mac = mac
  }

  /// The bytes the MAC covers: everything before the `mac` line.
  public func bytesCoveredByMAC() -> [UInt8] {
    var text = Self.magic + "\n"
    for s in stanzas {
      text += s.line + "\n" + Base64.encode(s.body) + "\n"
    }
    text += "chunk-size \(chunkSize)\n"
    text += "payload-salt \(Base64.encode(payloadSalt))\n"
    return Array(text.utf8)
  }

  /// The whole header as written to the file.
  public func encoded() -> [UInt8] {
    bytesCoveredByMAC() + Array("mac \(Base64.encode(mac))\n".utf8)
  }

  /// Reads and parses a header from the start of `source`, leaving `source`
  /// positioned at the first payload byte.
  ///
  /// - Returns: the header and its length in bytes.
  public static func read(from source: ByteSource) throws -> (ArchiveHeader, Int) {
    var consumed = 0
    var raw: [UInt8] = []
    var lineNumber = 0
    func corrupt(_ why: String) -> RehostError {
      RehostError(.corrupt, "the archive header is malformed at line \(lineNumber): \(why)",
                  hint: "this is not a rehost archive, or its first bytes were damaged; use another copy")
    }
    func nextLine() throws -> String {
      var bytes: [UInt8] = []
      var one: UInt8 = 0
      lineNumber += 1
      while true {
        let n = try withUnsafeMutableBytes(of: &one) { try source.read(into: $0) }
        if n == 0 { throw corrupt("the file ends inside the header") }
        consumed += 1
        raw.append(one)
        if one == 0x0a { break }
        bytes.append(one)
        if bytes.count > maxLineBytes || consumed > maxHeaderBytes { throw corrupt("line too long") }
      }
      guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { throw corrupt("not printable ASCII text") }
      return String(decoding: bytes, as: UTF8.self)
    }
    func base64(_ text: String) throws -> [UInt8] {
      guard let bytes = Base64.decode(text) else { throw corrupt("invalid base64") }
      return bytes
    }

    let first = try nextLine()
    guard first == magic else {
      if first.hasPrefix("rehost-archive/") {
        throw RehostError(.corrupt, "the archive is in format '\(first)', which this version of rehost cannot read",
                          hint: "use the rehost release that wrote it, or a newer one")
      }
      throw corrupt("expected '\(magic)'")
    }
    var stanzas: [Stanza] = []
    var line = try nextLine()
    while line.hasPrefix("recipient ") {
      let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
      guard words.count >= 2, words.allSatisfy({ !$0.isEmpty }) else { throw corrupt("bad recipient line") }
      let body = try base64(nextLine())
      stanzas.append(Stanza(type: words[1], arguments: Array(words.dropFirst(2)), body: body))
      if stanzas.count > maxStanzas { throw corrupt("more than \(maxStanzas) recipients") }
      line = try nextLine()
    }
    guard !stanzas.isEmpty else { throw corrupt("no recipients") }
    guard line.hasPrefix("chunk-size "), let chunkSize = Int(line.dropFirst("chunk-size ".count)),
          ChunkedStream.allowedChunkSizes.contains(chunkSize) else { throw corrupt("bad chunk-size line") }
    line = try nextLine()
    guard line.hasPrefix("payload-salt ") else { throw corrupt("expected payload-salt") }
    let salt = try base64(String(line.dropFirst("payload-salt ".count)))
    guard salt.count == 16 else { throw corrupt("payload salt must be 16 bytes") }
    line = try nextLine()
    guard line.hasPrefix("mac ") else { throw corrupt("expected mac") }
    let mac = try base64(String(line.dropFirst("mac ".count)))
    guard mac.count == 32 else { throw corrupt("mac must be 32 bytes") }
    let header = ArchiveHeader(stanzas: stanzas, chunkSize: chunkSize, payloadSalt: salt, mac: mac)
    // Only the canonical encoding is accepted, so the header has exactly one byte form.
    guard header.encoded() == raw else { throw corrupt("not in canonical form") }
    if let problem = checkStanzas(stanzas) {
      lineNumber = 0
      throw RehostError(.corrupt, "the archive header is malformed: \(problem)",
                        hint: "this is not a rehost archive as written, or its header was damaged; use another copy")
    }
    return (header, consumed)
  }
}

/// Strict standard base64 (with padding), the form `base64 -d` reads.
public enum Base64 {
  public static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

  /// Decodes canonical base64 only: nil for anything that does not re-encode identically.
  public static func decode(_ text: String) -> [UInt8]? {
    guard let data = Data(base64Encoded: text) else { return nil }
    let bytes = [UInt8](data)
    return encode(bytes) == text ? bytes : nil
  }
}
