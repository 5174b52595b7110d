import Foundation
import RehostBase
import RehostStorage

/// Debian's weak-key lists (CVE-2008-0166) in the openssl-blacklist format:
/// files `blacklist.RSA-<bits>`, `#` comments, one entry per line = the last 20 hex
/// digits of SHA-1("Modulus=" + HEX + "\n").
public struct DebianBlocklist: Sendable {
  /// Where the openssl-blacklist package installs its lists.
  public static let standardDirectories = ["/usr/share/openssl-blacklist"]

  private var entries: [Int: Set<String>] = [:]

  public init() {}

  /// Key sizes a list was loaded for, with the number of entries.
  public var sizes: [Int: Int] { entries.mapValues(\.count) }

  /// Loads every `blacklist.RSA-<bits>` file in `directory`.
  public mutating func load(directory: String) throws {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
      throw RehostError(.usage, "cannot read blocklist directory \(directory)", hint: "check the path")
    }
    for name in names where name.hasPrefix("blacklist.RSA-") {
      guard let bits = Int(name.dropFirst("blacklist.RSA-".count)) else { continue }
      let source = try FileSource(path: directory + "/" + name)
      let lines = LineReader(source: source, maxLength: 4096)
      var set = entries[bits] ?? []
      var number = 0
      while let line = try lines.next() {
        number += 1
        let entry = line.trimmingCharacters(in: .whitespaces)
        if entry.isEmpty || entry.hasPrefix("#") { continue }
        guard entry.count == 20, entry.allSatisfy(\.isHexDigit) else {
          throw RehostError(.usage, "\(directory)/\(name):\(number) is not an openssl-blacklist entry",
                            hint: "entries are 20 lower-case hex digits, one per line")
        }
        set.insert(entry.lowercased())
      }
      entries[bits] = set
    }
  }

  /// nil when no list covers `bits`; else whether the fingerprint is listed.
  public func contains(fingerprint: String, bits: Int) -> Bool? {
    entries[bits].map { $0.contains(fingerprint) }
  }
}
