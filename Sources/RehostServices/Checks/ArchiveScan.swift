import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// Checks the keys and certificates inside an archive, decrypted in memory as it
/// streams: nothing is written to disk. Every chunk and entry is verified on the way.
enum ArchiveScan {
  /// A path given to `check` is an archive when its name ends in `.rehost` or its
  /// first line says so: a damaged header must fail the check, not pass as a file
  /// without keys in it.
  static func isArchive(_ path: String) throws -> Bool {
    if path.hasSuffix(".rehost") { return true }
    guard let fd = try? InputFile.openRegular(path, what: "file") else { return false }
    defer { close(fd) }
    var first = [UInt8](repeating: 0, count: 17)
    let n = first.withUnsafeMutableBytes { read(fd, $0.baseAddress, 17) }
    return n == 17 && first == Array((ArchiveHeader.magic + "\n").utf8)
  }

  static func run(_ path: String, options: CheckOptions, scan: Scan) throws {
    guard !options.archiveIdentities.isEmpty else {
      throw RehostError(.usage, "\(path) is a rehost archive: checking its content needs a key",
                        hint: "pass --identity NAME.key (or --passphrase-file), or check a restored copy")
    }
    let reader = try ArchiveFileReader(path: path)
    let tar = try reader.openPayload(with: options.archiveIdentities, shareFiles: options.archiveShareFiles)
    _ = try PayloadWalker(tar: tar, seal: nil, progress: nil).run(Handler(archive: path, scan: scan))
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

    func begin(_ checked: CheckedEntry) throws {
      path = checked.path.description
      buffer = checked.kind == .file && checked.entry.size <= Int64(Scan.maxFileSize) ? [] : nil
    }

    func data(_ bytes: UnsafeRawBufferPointer) throws {
      buffer?.append(contentsOf: bytes.bindMemory(to: UInt8.self))
    }

    func end(_ checked: CheckedEntry) throws {
      if let buffer { scan.content(String(decoding: buffer, as: UTF8.self), at: archive + ":" + path) }
      buffer = nil
    }
  }
}
