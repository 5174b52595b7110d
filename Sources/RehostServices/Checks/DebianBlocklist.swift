import Foundation
import RehostBase
import RehostCrypto
import RehostStorage

/// Lists of known-compromised keys, chiefly Debian's weak keys (CVE-2008-0166), in the
/// three formats in use:
///
/// - openssl-blacklist: `blacklist.RSA-<bits>`, entries = last 20 hex digits of
///   SHA-1("Modulus=" + HEX + "\n");
/// - openssh-blacklist: `blacklist.<RSA|DSA>-<bits>` too, entries = MD5 of the SSH key
///   blob, hex, without its first 12 digits. Files of the two kinds look alike, so every
///   key is looked up under both fingerprints (80 bits each: no false matches in practice);
/// - badkeys: `blocklist.dat`, sorted 16-byte records of SHA-256(value)[0..<15] || list id
///   (1 = debianssl), searched on disk (the full list is large);
///
/// and rehost's own store of all three (``BlocklistStore``, `rehost-blocklist.bin`).
public struct DebianBlocklist: Sendable {
  /// Where Debian's packages (openssl-blacklist, openssh-blacklist) install their lists.
  public static let standardDirectories = ["/usr/share/openssl-blacklist", "/usr/share/ssh", "/etc/ssh"]

  /// "RSA-1024" -> entries.
  private var lists: [String: Set<String>] = [:]
  private var badkeys: [String] = []
  private var stores: [OpenBlocklistStore] = []

  public init() {}

  /// List names loaded ("RSA-1024", "badkeys"), with their entry counts.
  public var sizes: [String: Int] {
    var out = lists.mapValues(\.count)
    for path in badkeys { out["badkeys " + path] = Int(fileSizeOf(path) / 16) }
    for store in stores { out["store " + store.path] = Int(store.records - 1) }
    return out
  }

  /// Loads every `blacklist.<TYPE>-<bits>`, `blocklist.dat` and `rehost-blocklist.bin` in
  /// `directory`.
  public mutating func load(directory: String) throws {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
      throw RehostError(.usage, "cannot read blocklist directory \(directory)", hint: "check the path")
    }
    for name in names.sorted() {
      let path = directory + "/" + name
      if name == BlocklistStore.fileName {
        stores.append(try OpenBlocklistStore(path: path))
        continue
      }
      if name == "blocklist.dat" {
        guard fileSizeOf(path) % 16 == 0 else {
          throw RehostError(.usage, "\(path) is not a badkeys blocklist (its size is not a multiple of 16)")
        }
        badkeys.append(path)
        continue
      }
      guard name.hasPrefix("blacklist."), let dash = name.lastIndex(of: "-"), Int(name[name.index(after: dash)...]) != nil else { continue }
      let key = String(name.dropFirst("blacklist.".count))
      lists[key, default: []].formUnion(try Self.readEntries(path))
    }
  }

  /// The entries of an openssl-blacklist or openssh-blacklist file (20 hex digits, lower case).
  static func readEntries(_ path: String) throws -> [String] {
    let lines = LineReader(source: try FileSource(path: path), maxLength: 4096)
    var entries: [String] = []
    var number = 0
    while let line = try lines.next() {
      number += 1
      let entry = line.trimmingCharacters(in: .whitespaces)
      if entry.isEmpty || entry.hasPrefix("#") { continue }
      guard entry.count == 20, entry.allSatisfy(\.isHexDigit) else {
        throw RehostError(.usage, "\(path):\(number) is not a blacklist entry", hint: "entries are 20 hex digits, one per line")
      }
      entries.append(entry.lowercased())
    }
    return entries
  }

  /// Looks a key up. `covered` is false when no list can speak for this key type and size.
  public func lookup(type: String, bits: Int, modulusLineSHA1: String?, sshBlob: [UInt8]?, value: [UInt8]?) -> (listed: String?, covered: Bool) {
    let list = lists["\(type)-\(bits)"]
    if let list {
      if let sha1 = modulusLineSHA1, list.contains(String(sha1.suffix(20))) { return ("Debian's list (openssl-blacklist)", true) }
      if let blob = sshBlob, list.contains(SSHKeys.debianFingerprint(blob: blob)) { return ("Debian's list (openssh-blacklist)", true) }
    }
    let kind = "\(type)-\(bits)"
    for store in stores where store.covered.contains(kind) {
      if let sha1 = modulusLineSHA1, store.containsDebian(type: type, bits: bits, fingerprint: String(sha1.suffix(20))) {
        return ("Debian's list (openssl-blacklist, in \(store.path))", true)
      }
      if let blob = sshBlob, store.containsDebian(type: type, bits: bits, fingerprint: SSHKeys.debianFingerprint(blob: blob)) {
        return ("Debian's list (openssh-blacklist, in \(store.path))", true)
      }
    }
    if let value, !badkeys.isEmpty || stores.contains(where: \.hasBadkeys) {
      let digest = SHA256.hash(value)
      let prefix = Array(digest.prefix(15))
      for path in badkeys {
        if let id = Self.search(path, prefix) { return (Self.badkeysName(id), true) }
      }
      for store in stores where store.hasBadkeys {
        if let id = store.badkeysList(sha256: digest) { return (Self.badkeysName(id), true) }
      }
    }
    let coveredByStore = stores.contains { $0.hasBadkeys || $0.covered.contains(kind) }
    return (nil, list != nil || !badkeys.isEmpty || coveredByStore)
  }

  static func badkeysName(_ id: UInt8) -> String { id == 1 ? "badkeys' debianssl list" : "badkeys' list \(id)" }

  /// Binary search in badkeys' sorted file of 16-byte records; returns the list id on a match.
  static func search(_ path: String, _ prefix: [UInt8]) -> UInt8? {
    findRecord(in: path, records: fileSizeOf(path) / 16, prefix: prefix).map { $0[15] }
  }

}
