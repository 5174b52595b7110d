import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// Checks the keys and certificates inside an archive, decrypted in memory as it
/// streams: nothing is written to disk. Every chunk and entry is verified on the way.
enum ArchiveScan {
  static func isArchive(_ path: String) throws -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? handle.close() }
    return handle.readData(ofLength: 17) == Data((ArchiveHeader.magic + "\n").utf8)
  }

  static func run(_ path: String, options: CheckOptions, scan: Scan) throws {
    guard !options.archiveIdentities.isEmpty else {
      throw RehostError(.usage, "\(path) is a rehost archive: checking its content needs a key",
                        hint: "pass --identity NAME.key (or --passphrase-file), or check a restored copy")
    }
    let reader = try ArchiveFileReader(path: path)
    let tar = try reader.openPayload(with: options.archiveIdentities, shareFiles: options.archiveShareFiles)
    _ = try PayloadWalker(tar: tar, progress: nil).run(Handler(archive: path, scan: scan))
    _ = try reader.finish()
  }

  /// Buffers each small regular file's content, then checks it.
  final class Handler: EntryHandler {
    let archive: String
    let scan: Scan
    var buffer: [UInt8]?
    var path = ""

    init(archive: String, scan: Scan) {
      self.archive = archive
      self.scan = scan
    }

    func begin(_ entry: ArchiveEntry, path: String) throws {
      self.path = path
      buffer = entry.fileType == .file && entry.hardlink == nil && entry.size <= Int64(Scan.maxFileSize) ? [] : nil
    }

    func data(_ bytes: UnsafeRawBufferPointer) throws {
      buffer?.append(contentsOf: bytes.bindMemory(to: UInt8.self))
    }

    func end(_ entry: ArchiveEntry) throws {
      if let buffer { scan.content(String(decoding: buffer, as: UTF8.self), at: archive + ":" + path) }
      buffer = nil
    }
  }
}
