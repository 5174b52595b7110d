import COpenSSL

/// OpenSSH public keys: `authorized_keys` / `known_hosts` / `.pub` lines and the public
/// half stored in clear inside `OPENSSH PRIVATE KEY` files (even encrypted ones).
/// Parsing the wire format is plain Swift; only the fingerprints use libcrypto.
public enum SSHKeys {
  /// One key found in text.
  public struct Found: Sendable, Equatable {
    public let line: Int
    /// "ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", ...
    public let type: String
    /// The key blob (SSH wire format).
    public let blob: [UInt8]
    /// RSA facts when the key is RSA.
    public let rsa: KeyFacts?
    /// Key size for RSA (modulus) and DSA (p); 0 when not worked out.
    public let bits: Int
    public let isPrivateKeyFile: Bool
    /// A DSA key's public value y (badkeys hashes it).
    public var dsaPublic: [UInt8]?

    /// openssh-blacklist (`ssh-vulnkey`) entry for this key.
    public var debianFingerprint: String { SSHKeys.debianFingerprint(blob: blob) }
  }

  /// openssh-blacklist (`ssh-vulnkey`) entry: MD5 of the key blob, hex, without its first 12 digits.
  public static func debianFingerprint(blob: [UInt8]) -> String { String(Hex.encode(Digest.md5(blob)).dropFirst(12)) }

  /// Finds public key lines (any position on the line: known_hosts puts host names first,
  /// authorized_keys may put options first) and OpenSSH private key blocks.
  public static func find(in text: String) -> [Found] {
    var found: [Found] = []
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    var privateBlock: [Substring]?
    var privateStart = 0
    for (index, line) in lines.enumerated() {
      if line.hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----") { privateBlock = []; privateStart = index + 1; continue }
      if privateBlock != nil {
        if line.hasPrefix("-----END OPENSSH PRIVATE KEY-----") {
          if let blob = publicBlob(ofPrivateKey: privateBlock!.joined()), let key = key(blob: blob, line: privateStart, privateFile: true) {
            found.append(key)
          }
          privateBlock = nil
        } else {
          privateBlock!.append(line.filter { !$0.isWhitespace })
        }
        continue
      }
      let words = line.split(separator: " ")
      for (i, word) in words.enumerated() where i + 1 < words.count && isKeyType(word) {
        if let blob = decodeBase64(String(words[i + 1])), let key = key(blob: blob, line: index + 1, privateFile: false), key.type == word {
          found.append(key)
          break
        }
      }
    }
    return found
  }

  /// The ssh-rsa blob of an RSA key, for looking a PEM key up in openssh lists.
  public static func rsaBlob(_ key: KeyFacts) -> [UInt8]? {
    guard let n = key.rsaModulusBytes, let e = key.rsaExponent else { return nil }
    let exponent = withUnsafeBytes(of: e.bigEndian, Array.init)
    return wireString(Array("ssh-rsa".utf8)) + wireString(mpint(exponent)) + wireString(mpint(n))
  }

  /// The ssh-dss blob of a DSA key (p, q, g, y), for looking a PEM key up in openssh lists.
  public static func dssBlob(_ key: KeyFacts) -> [UInt8]? {
    guard let numbers = key.dsaNumbers, numbers.count == 4 else { return nil }
    return wireString(Array("ssh-dss".utf8)) + numbers.flatMap { wireString(mpint($0)) }
  }

  /// SSH wire format (RFC 4251): a multiple-precision integer's bytes, and a length-prefixed string.
  static func mpint(_ bytes: [UInt8]) -> [UInt8] {
    let trimmed = Array(bytes.drop { $0 == 0 })
    return trimmed.first.map { $0 & 0x80 != 0 } == true ? [0] + trimmed : trimmed
  }

  static func wireString(_ bytes: [UInt8]) -> [UInt8] {
    withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes
  }

  static func isKeyType(_ word: Substring) -> Bool {
    word == "ssh-rsa" || word == "ssh-dss" || word == "ssh-ed25519" || word.hasPrefix("ecdsa-sha2-") || word.hasPrefix("sk-")
  }

  static func key(blob: [UInt8], line: Int, privateFile: Bool) -> Found? {
    var reader = WireReader(blob)
    guard let type = reader.string().map({ String(decoding: $0, as: UTF8.self) }) else { return nil }
    var rsa: KeyFacts?
    var bits = 0
    var dsaPublic: [UInt8]?
    if type == "ssh-dss", let p = reader.string() {
      let trimmed = Array(p.drop { $0 == 0 })
      bits = trimmed.isEmpty ? 0 : (trimmed.count - 1) * 8 + (8 - trimmed[0].leadingZeroBitCount)
      if reader.string() != nil, reader.string() != nil, let y = reader.string() { dsaPublic = Array(y.drop { $0 == 0 }) }
    }
    if type == "ssh-rsa" {
      guard let e = reader.string(), let n = reader.string() else { return nil }
      let exponentBytes = e.drop { $0 == 0 }
      let exponent: UInt64? = exponentBytes.count <= 8 ? exponentBytes.reduce(0) { $0 << 8 | UInt64($1) } : nil
      let key = KeyFacts(rsaModulus: n, exponent: exponent)
      bits = key.bits
      rsa = key
    }
    return Found(line: line, type: type, blob: blob, rsa: rsa, bits: bits, isPrivateKeyFile: privateFile, dsaPublic: dsaPublic)
  }

  /// openssh-key-v1: magic, cipher, kdf, kdf options, key count, then public blobs in clear.
  static func publicBlob(ofPrivateKey base64: String) -> [UInt8]? {
    guard let data = decodeBase64(base64) else { return nil }
    let magic = Array("openssh-key-v1".utf8) + [0]
    guard data.starts(with: magic) else { return nil }
    var reader = WireReader(Array(data.dropFirst(magic.count)))
    guard reader.string() != nil, reader.string() != nil, reader.string() != nil,
          let count = reader.uint32(), count >= 1 else { return nil }
    return reader.string()
  }

  static func decodeBase64(_ text: String) -> [UInt8]? {
    var padded = text
    while padded.count % 4 != 0 { padded += "=" }
    var out = [UInt8](repeating: 0, count: padded.utf8.count / 4 * 3)
    let n = padded.withCString { EVP_DecodeBlock(&out, $0, Int32(padded.utf8.count)) }
    guard n >= 0 else { return nil }
    let padding = padded.reversed().prefix { $0 == "=" }.count
    return Array(out.prefix(Int(n) - padding))
  }

  /// SSH wire format reader: big-endian uint32 lengths before strings and mpints.
  struct WireReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func uint32() -> UInt32? {
      guard offset + 4 <= bytes.count else { return nil }
      defer { offset += 4 }
      return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func string() -> [UInt8]? {
      guard let length = uint32(), length <= 1 << 20, offset + Int(length) <= bytes.count else { return nil }
      defer { offset += Int(length) }
      return Array(bytes[offset..<offset + Int(length)])
    }
  }
}
