import Foundation
import RehostBase
import RehostCrypto
import RehostStorage

/// rehost's own blocklist store (`rehost-blocklist.bin`, format `rehost-blocklist/1`): the
/// three list formats merged into one file of sorted 16-byte records, searched on disk
/// (nothing to parse when a check starts, however long the lists).
///
/// Records, compared as bytes (so the kinds group in this order):
///
/// - header: `00` `rehost-bl/1` and four zero bytes;
/// - coverage, one per imported Debian list: `01` type (`R` RSA, `D` DSA, `1` RSA1) bits
///   (2 bytes, big-endian), then zeros: keys of that type and size can be judged;
/// - Debian fingerprint: `02` type bits(2) fingerprint(10 bytes) `00 00`: the last 20 hex
///   digits of an openssl-blacklist or openssh-blacklist entry (the two formats share file
///   names, so both of a key's fingerprints are looked up);
/// - badkeys: `03` SHA-256(value)[0..<14] list-id: badkeys' records, one byte shorter.
public enum BlocklistStore {
  public static let fileName = "rehost-blocklist.bin"
  static let header: [UInt8] = [0] + Array("rehost-bl/1".utf8) + [0, 0, 0, 0]

  /// What an import put in the store.
  public struct Summary: Sendable {
    public let path: String
    /// "RSA-2048" -> entries, for the Debian lists.
    public let debianLists: [String: Int]
    public let badkeysRecords: Int
  }

  /// Streams badkeys' `blocklist.dat`: 16-byte records in strictly ascending order (a
  /// file of zeros, or any other file, is refused, not imported). Returns the count.
  static func readBadkeys(_ file: String, _ each: (ArraySlice<UInt8>) -> Void) throws -> Int {
    let source = try FileSource(path: file, what: "badkeys blocklist")
    func bad(_ why: String) -> RehostError {
      RehostError(.usage, "\(file) is not a badkeys blocklist: \(why)", hint: "use badkeys' own blocklist.dat (badkeys --update-bl)")
    }
    var previous: [UInt8]?
    var record = [UInt8](repeating: 0, count: 16)
    var count = 0
    while true {
      let n = try record.withUnsafeMutableBytes { try source.readFully(into: $0) }
      if n == 0 { break }
      guard n == 16 else { throw bad("its size is not a multiple of 16") }
      if let previous, !previous.lexicographicallyPrecedes(record) { throw bad("record \(count + 1) is not above the one before it") }
      each(record[...])
      previous = record
      count += 1
    }
    guard count > 0 else { throw bad("it is empty") }
    return count
  }

  /// Merges the lists found in `sources` (directories holding `blacklist.<TYPE>-<bits>` and
  /// `blocklist.dat` files, or such files themselves) into `directory`/rehost-blocklist.bin,
  /// written atomically. The records are sorted in memory (16 bytes each).
  public static func importLists(from sources: [String], into directory: String) throws -> Summary {
    var records: [[UInt8]] = [header]
    var debian: [String: Int] = [:]
    var badkeys = 0
    var files: [String] = []
    for source in sources {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
        throw RehostError(.usage, "\(source) does not exist", hint: "name directories of blocklists or the list files")
      }
      if isDirectory.boolValue {
        files += (try FileManager.default.contentsOfDirectory(atPath: source)).sorted()
          .filter { $0 == "blocklist.dat" || listKind($0) != nil }.map { source + "/" + $0 }
      } else {
        files.append(source)
      }
    }
    for file in files {
      let name = URL(fileURLWithPath: file).lastPathComponent
      if let (type, bits) = listKind(name) {
        let entries = try DebianBlocklist.readEntries(file)
        debian[name.dropFirst("blacklist.".count).description, default: 0] += entries.count
        records.append([1, type, UInt8(bits >> 8), UInt8(bits & 0xff)] + [UInt8](repeating: 0, count: 12))
        for entry in entries {
          records.append([2, type, UInt8(bits >> 8), UInt8(bits & 0xff)] + Hex.decode(entry)! + [0, 0])
        }
      } else if name == "blocklist.dat" {
        let added = try readBadkeys(file) { records.append([3] + $0[0..<14] + [$0[15]]) }
        badkeys += added
      } else {
        throw RehostError(.usage, "\(file) is not a blocklist this version reads",
                          hint: "give blacklist.<RSA|DSA|RSA1>-<bits> files (openssl-blacklist, openssh-blacklist) or badkeys' blocklist.dat")
      }
    }
    guard records.count > 1 else {
      throw RehostError(.usage, "no blocklist found in \(sources.joined(separator: ", "))",
                        hint: "Debian 12 ships no openssl-blacklist package: get the CA/Browser Forum's Debian weak keys (github.com/cabforum/debian-weak-keys) or badkeys' blocklist, and `rehost blocklist import` them")
    }
    records.sort { $0.lexicographicallyPrecedes($1) }
    var unique: [[UInt8]] = []
    for record in records where record != unique.last { unique.append(record) }

    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/" + fileName
    let file = try AtomicFile(path: path, mode: 0o644)
    do {
      for record in unique { try file.write(record) }
      try file.commit(replace: true)
    } catch {
      file.abort()
      throw error
    }
    return Summary(path: path, debianLists: debian, badkeysRecords: badkeys)
  }

  /// `blacklist.RSA-2048` -> ("R", 2048).
  static func listKind(_ name: String) -> (type: UInt8, bits: Int)? {
    guard name.hasPrefix("blacklist."), let dash = name.lastIndex(of: "-"),
          let bits = Int(name[name.index(after: dash)...]), bits > 0, bits < 65536 else { return nil }
    switch name[name.index(name.startIndex, offsetBy: "blacklist.".count)..<dash] {
    case "RSA": return (UInt8(ascii: "R"), bits)
    case "DSA": return (UInt8(ascii: "D"), bits)
    case "RSA1": return (UInt8(ascii: "1"), bits)
    default: return nil
    }
  }
}

/// An opened store: which Debian lists it covers (read once), and lookups by binary search.
struct OpenBlocklistStore: Sendable {
  let path: String
  let records: Int64
  /// "RSA-2048", ... for the Debian lists it holds.
  let covered: Set<String>
  let hasBadkeys: Bool

  init(path: String) throws {
    self.path = path
    let size = fileSizeOf(path)
    guard size >= 16, size % 16 == 0, let first = Self.record(path, 0), first == BlocklistStore.header else {
      throw RehostError(.usage, "\(path) is not a rehost blocklist store (rehost-blocklist/1)",
                        hint: "make it again with `rehost blocklist import SRC... --out DIR`")
    }
    records = size / 16
    var covered = Set<String>()
    var index: Int64 = 1
    while index < records, let record = Self.record(path, index), record[0] == 1 {
      let type = record[1] == UInt8(ascii: "R") ? "RSA" : record[1] == UInt8(ascii: "D") ? "DSA" : "RSA1"
      covered.insert("\(type)-\(Int(record[2]) << 8 | Int(record[3]))")
      index += 1
    }
    self.covered = covered
    hasBadkeys = Self.record(path, records - 1).map { $0[0] == 3 } ?? false
  }

  /// Whether a Debian fingerprint (20 hex digits) is listed for this type and size.
  func containsDebian(type: String, bits: Int, fingerprint: String) -> Bool {
    guard let code = type == "RSA" ? UInt8(ascii: "R") : type == "DSA" ? UInt8(ascii: "D") : nil,
          let bytes = Hex.decode(fingerprint), bytes.count == 10 else { return false }
    return find([2, code, UInt8(bits >> 8 & 0xff), UInt8(bits & 0xff)] + bytes + [0, 0]) != nil
  }

  /// badkeys' list id for SHA-256(value), if listed.
  func badkeysList(sha256: [UInt8]) -> UInt8? {
    find([3] + sha256.prefix(14)).map { $0[15] }
  }

  private func find(_ prefix: [UInt8]) -> [UInt8]? {
    findRecord(in: path, records: records, prefix: prefix)
  }

  private static func record(_ path: String, _ index: Int64) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var record = [UInt8](repeating: 0, count: 16)
    return pread(fd, &record, 16, off_t(index * 16)) == 16 ? record : nil
  }
}

/// Binary search in a file of `records` sorted 16-byte records: the one that starts
/// with `prefix`, if any (badkeys' blocklist.dat and rehost's store alike).
func findRecord(in path: String, records: Int64, prefix: [UInt8]) -> [UInt8]? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var low: Int64 = 0, high = records
  var record = [UInt8](repeating: 0, count: 16)
  while low < high {
    let mid = (low + high) / 2
    guard pread(fd, &record, 16, off_t(mid * 16)) == 16 else { return nil }
    let key = record.prefix(prefix.count)
    if key.elementsEqual(prefix) { return record }
    if key.lexicographicallyPrecedes(prefix) { low = mid + 1 } else { high = mid }
  }
  return nil
}

func fileSizeOf(_ path: String) -> Int64 {
  var st = stat()
  return stat(path, &st) == 0 ? Int64(st.st_size) : 0
}
