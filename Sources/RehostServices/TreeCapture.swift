import Foundation
import RehostBase
import RehostCrypto
import RehostDatabases
import RehostFormat
import RehostStorage

/// Writes entries into the tar stream while building the manifest beside it.
final class TreeCapture {
  private let tar: TarWriter
  private let progress: ProgressObserver?
  private let manifest: SpoolFile
  private let manifestHash = SHA256()
  private let entry = ArchiveEntry()
  private var totals = ManifestTotals()
  private var bytesSeen: Int64 = 0
  private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
  private(set) var warnings: [String] = []

  func warn(_ message: String) { warnings.append(message) }

  init(tar: TarWriter, progress: ProgressObserver?) throws {
    self.tar = tar
    self.progress = progress
    manifest = try SpoolFile()
  }

  deinit { buffer.deallocate() }

  func begin(_ header: ManifestHeader) throws {
    try appendManifestLine(header.jsonLine())
  }

  func add(source: Snapshot.Source, excludes: [String]) throws {
    let walker = try TreeWalker(root: source.path, name: ArchivePath(source.name), excludes: excludes)
    while let walked = try walker.next() {
      try Interruption.shared.check()
      let st = walked.status
      let type: mode_t
      let kind: ManifestEntry.Kind
      switch walked.kind {
      case .file: (type, kind) = (S_IFREG, walked.hardlinkTo == nil ? .file : .hardlink)
      case .directory: (type, kind) = (S_IFDIR, .directory)
      case .symlink: (type, kind) = (S_IFLNK, .symlink)
      case .fifo: (type, kind) = (S_IFIFO, .fifo)
      case .characterDevice: (type, kind) = (S_IFCHR, .chardev)
      case .blockDevice: (type, kind) = (S_IFBLK, .blockdev)
      }
      entry.clear()
      entry.path = walked.path
      entry.set(type: type, permissions: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid,
                user: walked.userName, group: walked.groupName, mtimeSeconds: Int64(st.st_mtim.tv_sec),
                mtimeNanoseconds: st.st_mtim.tv_nsec, size: kind == .file ? Int64(st.st_size) : 0)
      if let target = walked.symlinkTarget { entry.symlinkTarget = target }
      if let first = walked.hardlinkTo { entry.hardlinkPath = first }
      if kind == .chardev || kind == .blockdev { entry.device = walked.device }
      walked.xattrs.forEach(entry.addXattr)
      try tar.writeHeader(entry)
      var digest: String?
      if let content = walked.content, kind == .file {
        digest = try copyContent(of: content, size: Int64(st.st_size), name: walked.shown)
      }
      let record = ManifestEntry(entry, path: walked.path, kind: kind, sha256: digest)
      totals.add(record)
      try appendManifestLine(record.jsonLine())
    }
    warnings += walker.warnings
  }

  /// Stores one file of a database's dump under `.rehost/databases/<database>/`.
  func addDatabaseFile(database: String, name: String, size: Int64, from source: ByteSource) throws {
    let path = ArchivePath(ManifestDatabase.archiveDirectory + "/" + database + "/" + name)
    entry.clear()
    entry.path = path
    entry.setRegularFile(size: size, permissions: 0o600, mtime: Int64(Date().timeIntervalSince1970))
    try tar.writeHeader(entry)
    let digest = try copyContent(of: source, size: size, name: path.description)
    let record = ManifestEntry(entry, path: path, kind: .file, sha256: digest)
    totals.add(record)
    try appendManifestLine(record.jsonLine())
  }

  /// Finishes the manifest (database records, then totals) and stores it as the
  /// archive's last entry.
  func end(databases: [ManifestDatabase] = []) throws -> (sha256: String, totals: ManifestTotals) {
    for database in databases { try appendManifestLine(database.jsonLine()) }
    try appendManifestLine(totals.jsonLine())
    entry.clear()
    entry.path = ArchivePath(Manifest.archivePath)
    entry.setRegularFile(size: manifest.byteCount, permissions: 0o600, mtime: Int64(Date().timeIntervalSince1970))
    try tar.writeHeader(entry)
    let reader = try manifest.reader()
    while true {
      let n = try reader.read(into: buffer)
      if n == 0 { break }
      try tar.writeData(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
    return (Hex.encode(manifestHash.finalize()), totals)
  }

  private func appendManifestLine(_ line: String) throws {
    let bytes = Array((line + "\n").utf8)
    manifestHash.update(bytes)
    try manifest.write(bytes)
  }

  /// Streams exactly `size` bytes of `file` into the tar stream, hashing them.
  private func copyContent(of file: ByteSource, size: Int64, name: String) throws -> String {
    let hasher = SHA256()
    var remaining = size
    while remaining > 0 {
      try Interruption.shared.check()
      let want = Int(min(Int64(buffer.count), remaining))
      let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
      if n == 0 {
        throw RehostError(.failure, "\(name) shrank while it was being read (\(size - remaining) of \(size) bytes)",
                          hint: "stop what writes to it (or snapshot the database with its own method) and run the snapshot again")
      }
      let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
      hasher.update(chunk)
      try tar.writeData(chunk)
      remaining -= Int64(n)
      bytesSeen += Int64(n)
      progress?.progress(entries: totals.entries, bytes: bytesSeen)
    }
    return Hex.encode(hasher.finalize())
  }
}

/// Hands one database's files to the capture, under that database's directory.
final class DatabaseEntryWriter: DatabaseArchiveWriter {
  private let capture: TreeCapture
  private let database: String

  init(capture: TreeCapture, database: String) {
    self.capture = capture
    self.database = database
  }

  func addFile(named name: String, size: Int64, from source: ByteSource) throws {
    try capture.addDatabaseFile(database: database, name: name, size: size, from: source)
  }

  func warn(_ message: String) { capture.warn(message) }
}
