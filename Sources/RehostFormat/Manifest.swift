import Foundation
import RehostBase

/// What a snapshot contains, entry by entry: the list every restore and deep verify
/// checks against. Stored inside the encrypted payload as the last tar entry
/// (``Manifest/archivePath``), as JSON Lines:
///
/// - line 1: ``ManifestHeader`` (`{"format":"rehost-manifest/1",...}`),
/// - one ``ManifestEntry`` per archive entry, in archive order,
/// - last line: `{"totals":{...}}` (``ManifestTotals``).
///
/// Entry lines are written by ``ManifestEntry/jsonLine()`` with a fixed key order, so
/// the same entry always has the same bytes: restore compares lines, not parsed values.
public enum Manifest {
  public static let format = "rehost-manifest/1"
  /// The manifest's own path inside the archive; no source may be named `.rehost`.
  public static let archivePath = ".rehost/manifest.jsonl"
  public static let reservedTopLevelName = ".rehost"
  /// Limits a reader enforces (docs/FORMAT.md): a manifest line, the manifest file, a path.
  public static let maxLineBytes = 1 << 20
  public static let maxBytes: Int64 = 1 << 30
  public static let maxPathBytes = 256 * 1024
}

/// The facts about a snapshot as a whole (first line of the manifest).
public struct ManifestHeader: Codable, Equatable, Sendable {
  public struct Source: Codable, Equatable, Sendable {
    /// Top-level name in the archive (the source's base name).
    public var name: String
    /// Absolute path on the host the snapshot was taken from.
    public var path: String
    public init(name: String, path: String) { self.name = name; self.path = path }
  }

  public var format: String
  public var created: String
  public var host: String
  public var label: String
  public var tool: String
  public var sources: [Source]
  /// Archive paths the inventory marks as secret key material (absent without one).
  public var secrets: [String]?

  public init(created: String, host: String, label: String, tool: String, sources: [Source], secrets: [String]? = nil) {
    self.format = Manifest.format
    self.created = created
    self.host = host
    self.label = label
    self.tool = tool
    self.sources = sources
    self.secrets = secrets
  }

  /// Reads a manifest's first line.
  public static func parse(_ line: [UInt8]) throws -> ManifestHeader {
    let header = try JSONDecoder().decode(ManifestHeader.self, from: Data(line))
    guard header.format == Manifest.format, Array(header.jsonLine().utf8) == line else {
      throw RehostError(.corrupt, "the manifest's first line is not a \(Manifest.format) header written the canonical way")
    }
    return header
  }

  public func jsonLine() -> String {
    let sourceList = sources.map { "{\"name\":\(JSON.string($0.name)),\"path\":\(JSON.string($0.path))}" }
    let secretList = secrets.map { ",\"secrets\":[\($0.map(JSON.string).joined(separator: ","))]" } ?? ""
    return "{\"format\":\(JSON.string(format)),\"created\":\(JSON.string(created)),\"host\":\(JSON.string(host)),"
      + "\"label\":\(JSON.string(label)),\"tool\":\(JSON.string(tool)),\"sources\":[\(sourceList.joined(separator: ","))]\(secretList)}"
  }
}

/// Counts over all entries (last line of the manifest).
public struct ManifestTotals: Codable, Equatable, Sendable {
  public var entries: Int = 0
  public var files: Int = 0
  /// Sum of regular files' sizes.
  public var bytes: Int64 = 0

  public init() {}

  public mutating func add(_ entry: ManifestEntry) { add(kind: entry.type, size: entry.size) }

  /// Counts one entry: a regular file also by its size.
  public mutating func add(kind: ManifestEntry.Kind, size: Int64) {
    entries += 1
    if kind == .file {
      files += 1
      bytes += size
    }
  }

  public func jsonLine() -> String {
    "{\"totals\":{\"entries\":\(entries),\"files\":\(files),\"bytes\":\(bytes)}}"
  }
}

/// One file, directory, link or special file in the archive.
///
/// Names are bytes (``ArchivePath``): a name that is valid UTF-8 is written as a JSON
/// string (`"path"`, `"target"`, `"link"`); one that is not is written as base64 of its
/// bytes under the same key with `_b64` appended (`"path_b64"`). docs/FORMAT.md.
public struct ManifestEntry: Equatable, Sendable {
  public enum Kind: String, Codable, Sendable {
    case file, directory, symlink, hardlink, fifo, chardev, blockdev
  }

  /// Path inside the archive: `<source name>/<relative path>`, `/`-separated.
  public var path: ArchivePath
  public var type: Kind
  /// Content length for files; 0 otherwise.
  public var size: Int64
  /// Permission bits including setuid/setgid/sticky, as 4 octal digits.
  public var mode: String
  public var uid: Int
  public var gid: Int
  public var user: String
  public var group: String
  /// Modification time as `seconds.nanoseconds` since the epoch: the seconds rounded
  /// down (negative before 1970), then nine digits of nanoseconds to add.
  public var mtime: String
  /// Character and block devices: `major,minor`.
  public var device: String?
  /// SHA-256 of the content, lower-case hex (files only).
  public var sha256: String?
  /// Symlink target, as stored.
  public var target: [UInt8]?
  /// Hard link: the archive path of the entry holding the content.
  public var link: ArchivePath?

  public init(path: ArchivePath, type: Kind, size: Int64, mode: UInt32, uid: Int, gid: Int, user: String, group: String,
              mtimeSeconds: Int64, mtimeNanoseconds: Int, device: (major: UInt32, minor: UInt32)? = nil,
              sha256: String? = nil, target: [UInt8]? = nil, link: ArchivePath? = nil) {
    self.path = path
    self.type = type
    self.size = size
    let octal = String(mode & 0o7777, radix: 8)
    self.mode = String(repeating: "0", count: 4 - octal.count) + octal
    self.uid = uid
    self.gid = gid
    self.user = user
    self.group = group
    self.mtime = Self.mtime(mtimeSeconds, mtimeNanoseconds)
    self.device = device.map { "\($0.major),\($0.minor)" }
    self.sha256 = sha256
    self.target = target
    self.link = link
  }

  /// `seconds.nanoseconds`, as `%lld.%09d` prints them (without Foundation's formatter,
  /// which cost more than the rest of an entry's line).
  static func mtime(_ seconds: Int64, _ nanoseconds: Int) -> String {
    guard (0..<1_000_000_000).contains(nanoseconds) else { return String(format: "%lld.%09d", seconds, nanoseconds) }
    let digits = String(nanoseconds)
    return "\(seconds)." + String(repeating: "0", count: 9 - digits.count) + digits
  }

  /// The canonical one-line JSON form (fixed key order, optional keys omitted).
  public func jsonLine() -> String {
    var s = "{" + JSON.name("path", path.bytes) + ",\"type\":\"\(type.rawValue)\",\"size\":\(size),\"mode\":\"\(mode)\","
      + "\"uid\":\(uid),\"gid\":\(gid),\"user\":\(JSON.string(user)),\"group\":\(JSON.string(group)),\"mtime\":\"\(mtime)\""
    if let device { s += ",\"device\":\"\(device)\"" }
    if let sha256 { s += ",\"sha256\":\"\(sha256)\"" }
    if let target { s += "," + JSON.name("target", target) }
    if let link { s += "," + JSON.name("link", link.bytes) }
    return s + "}"
  }

  /// Parses a line written by ``jsonLine()``.
  public static func parse(_ line: String) throws -> ManifestEntry {
    try JSONDecoder().decode(ManifestEntry.self, from: Data(line.utf8))
  }

  /// Names the fields that differ from `other`, for error messages.
  public func differences(from other: ManifestEntry) -> [String] {
    var out: [String] = []
    func cmp<T: Equatable>(_ name: String, _ a: T?, _ b: T?, show: (T) -> String = { "\($0)" }) {
      if a != b { out.append("\(name) \(b.map(show) ?? "none") instead of \(a.map(show) ?? "none")") }
    }
    cmp("path", path, other.path)
    cmp("type", type.rawValue, other.type.rawValue)
    cmp("size", size, other.size)
    cmp("mode", mode, other.mode)
    cmp("uid", uid, other.uid)
    cmp("gid", gid, other.gid)
    cmp("user", user, other.user)
    cmp("group", group, other.group)
    cmp("mtime", mtime, other.mtime)
    cmp("device", device, other.device)
    cmp("sha256", sha256, other.sha256)
    cmp("symlink target", target, other.target, show: { TextEscape.escape($0) })
    cmp("hard link", link, other.link)
    return out
  }
}

extension ManifestEntry: Decodable {
  private enum Keys: String, CodingKey {
    case path, path_b64, type, size, mode, uid, gid, user, group, mtime, device, sha256, target, target_b64, link, link_b64
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: Keys.self)
    func name(_ key: Keys, _ b64: Keys) throws -> [UInt8]? {
      if let text = try c.decodeIfPresent(String.self, forKey: key) { return Array(text.utf8) }
      guard let encoded = try c.decodeIfPresent(String.self, forKey: b64) else { return nil }
      guard let bytes = Base64.decode(encoded) else {
        throw DecodingError.dataCorruptedError(forKey: b64, in: c, debugDescription: "not canonical base64")
      }
      return bytes
    }
    guard let path = try name(.path, .path_b64) else {
      throw DecodingError.keyNotFound(Keys.path, .init(codingPath: [], debugDescription: "no path"))
    }
    self.path = ArchivePath(bytes: path)
    type = try c.decode(Kind.self, forKey: .type)
    size = try c.decode(Int64.self, forKey: .size)
    mode = try c.decode(String.self, forKey: .mode)
    uid = try c.decode(Int.self, forKey: .uid)
    gid = try c.decode(Int.self, forKey: .gid)
    user = try c.decode(String.self, forKey: .user)
    group = try c.decode(String.self, forKey: .group)
    mtime = try c.decode(String.self, forKey: .mtime)
    device = try c.decodeIfPresent(String.self, forKey: .device)
    sha256 = try c.decodeIfPresent(String.self, forKey: .sha256)
    target = try name(.target, .target_b64)
    link = try name(.link, .link_b64).map { ArchivePath(bytes: $0) }
  }
}

/// Minimal JSON string encoding (RFC 8259 §7), deterministic.
enum JSON {
  /// `"key":"text"` when the bytes are UTF-8, else `"key_b64":"<base64>"`.
  static func name(_ key: String, _ bytes: [UInt8]) -> String {
    if let text = String(validating: bytes, as: UTF8.self) { return "\"\(key)\":" + string(text) }
    return "\"\(key)_b64\":\"" + Base64.encode(bytes) + "\""
  }

  static func string(_ s: String) -> String { JSONText.string(s) }
}

/// A database captured in the snapshot (one manifest line, after the entries and before
/// the totals): how it was taken, and per table what a restore must bring back.
///
/// Its dump is stored as ordinary file entries under `.rehost/databases/<name>/`, which
/// the manifest lists like any file; this record says what they hold.
public struct ManifestDatabase: Codable, Equatable, Sendable {
  public struct Table: Codable, Equatable, Sendable {
    /// Qualified as the engine shows it (`schema.table` for PostgreSQL).
    public var name: String
    public var rows: Int64
    /// An order-independent digest of the rows' content; how it is computed depends on
    /// the method (docs/FORMAT.md), so only same-engine restores compare it.
    public var checksum: String
    public init(name: String, rows: Int64, checksum: String) {
      self.name = name
      self.rows = rows
      self.checksum = checksum
    }
  }

  /// The name chosen at snapshot time; `restore --db NAME=...` refers to it.
  public var name: String
  /// `sqlite-backup`, `pg_dump-custom` or `mariadb-dump`.
  public var method: String
  /// The engine's version as it reported it.
  public var server: String
  /// Where it came from, without passwords.
  public var source: String
  public var tables: [Table]
  /// The archive files holding the dump, in order.
  public var files: [String]
  /// Total bytes of the dump.
  public var bytes: Int64
  /// The archive file holding the server's roles (users) and grants, taken when asked
  /// (``rolesFileName``); restored before the dump.
  public var roles: String?

  public init(name: String, method: String, server: String, source: String, tables: [Table], files: [String], bytes: Int64,
              roles: String? = nil) {
    self.name = name
    self.method = method
    self.server = server
    self.source = source
    self.tables = tables
    self.files = files
    self.bytes = bytes
    self.roles = roles
  }

  /// The roles file's name: part 0, before the dump's first part.
  public static let rolesFileName = "roles.sql"

  /// Where a database's files live inside the archive.
  public static let archiveDirectory = Manifest.reservedTopLevelName + "/databases"

  /// Whether an archive path belongs to a database dump rather than to a restored tree.
  public static func isDatabasePath(_ path: String) -> Bool {
    path == archiveDirectory || path.hasPrefix(archiveDirectory + "/")
  }

  /// A file of a database's dump: `.rehost/databases/<name>/<file>`, where <name> is
  /// letters, digits, `.`, `_` and `-` (at most 64, not starting with `.`) and <file> is
  /// `database.sqlite` (part 1 of 1), `dump.NNNNNN.pgdump` / `dump.NNNNNN.sql` (part N), or
  /// `roles.sql` (part 0: the server's roles and grants, before the dump).
  public struct FileName: Equatable, Sendable {
    public let database: String
    public let file: String
    public let part: Int
  }

  /// Reads `path` as a database file's; nil when it is not one rehost writes.
  public static func fileName(_ path: ArchivePath) -> FileName? {
    guard let text = path.string, text.hasPrefix(archiveDirectory + "/") else { return nil }
    let parts = text.dropFirst(archiveDirectory.count + 1).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 2, isValidName(parts[0]) else { return nil }
    let file = parts[1]
    if file == "database.sqlite" { return FileName(database: parts[0], file: file, part: 1) }
    if file == rolesFileName { return FileName(database: parts[0], file: file, part: 0) }
    let pieces = file.split(separator: ".", omittingEmptySubsequences: false)
    guard pieces.count == 3, pieces[0] == "dump", pieces[1].count == 6, pieces[1].allSatisfy({ $0.isASCII && $0.isNumber }),
          pieces[2] == "pgdump" || pieces[2] == "sql", let part = Int(pieces[1]), part > 0 else { return nil }
    return FileName(database: parts[0], file: file, part: part)
  }

  /// Database names: what `NAME=` may say on the command line.
  public static func isValidName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 64 && !name.hasPrefix(".")
      && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0) }
  }

  public static let linePrefix = "{\"database\":"

  public func jsonLine() -> String {
    let tableList = tables.map { "{\"name\":\(JSON.string($0.name)),\"rows\":\($0.rows),\"checksum\":\(JSON.string($0.checksum))}" }
    return "{\"database\":{\"name\":\(JSON.string(name)),\"method\":\(JSON.string(method)),\"server\":\(JSON.string(server)),"
      + "\"source\":\(JSON.string(source)),\"tables\":[\(tableList.joined(separator: ","))],"
      + "\"files\":[\(files.map(JSON.string).joined(separator: ","))],\"bytes\":\(bytes)"
      + (roles.map { ",\"roles\":\(JSON.string($0))" } ?? "") + "}}"
  }

  public static func parse(_ line: String) throws -> ManifestDatabase {
    struct Wrapper: Decodable { let database: ManifestDatabase }
    return try JSONDecoder().decode(Wrapper.self, from: Data(line.utf8)).database
  }
}
