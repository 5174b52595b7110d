import Foundation
import RehostBase
import RehostFormat
import RehostStorage

/// Evidence for tools we did not write: the manifest as a `sha256sum -c` list or as a
/// BagIt bag's tag files (RFC 8493), read from the archive with a key.
public enum ManifestExporter {
  public enum Format: String, Sendable, CaseIterable {
    case sha256sum, bagit
  }

  public struct Options {
    public var archive: String
    public var sealPath: String?
    public var identities: [Identity]
    public var shareFiles: [String] = []
    public var format: Format
    /// sha256sum: the file to write (nil: standard output). bagit: the bag directory.
    public var output: String?

    public init(archive: String, identities: [Identity], format: Format, output: String?) {
      self.archive = archive
      self.identities = identities
      self.format = format
      self.output = output
    }
  }

  /// Reads the whole archive (every chunk authenticated, every entry checked against the
  /// manifest, the manifest and archive hash against the seal), then writes the export.
  /// - Returns: the sha256sum list's bytes when writing to standard output, else nil.
  public static func run(_ options: Options, progress: ProgressObserver? = nil) throws -> [UInt8]? {
    if options.format == .sha256sum, let output = options.output, FileManager.default.fileExists(atPath: output) {
      throw RehostError(.refused, "\(output) already exists; manifest export does not overwrite",
                        hint: "choose another --out name, or remove \(output) first")
    }
    let seal = try SealCheck.load(archive: options.archive, sealPath: options.sealPath)
    let facts = try SealFacts(fields: seal.statement)
    let reader = try ArchiveFileReader(path: options.archive)
    let tar = try reader.openPayload(with: options.identities, shareFiles: options.shareFiles)
    let manifest = try SpoolFile()
    let payload = try PayloadWalker(tar: tar, seal: facts, progress: progress, manifestCopy: manifest).run(DiscardingHandler())
    try reader.finish(against: facts, payload: payload)

    switch options.format {
    case .sha256sum:
      var text: [UInt8] = []
      let sink: AtomicFile? = try options.output.map { try AtomicFile(path: $0) }
      do {
        try ManifestExport.lines({ try manifest.reader() }) { line in
          let entry = ManifestExport.sha256sumLine(line)
          if let sink { try sink.write(entry) } else { text += entry }
        }
        try sink?.commit(replace: false)
      } catch {
        sink?.abort()
        throw error
      }
      return sink == nil ? text : nil
    case .bagit:
      guard let dir = options.output else { throw RehostError(.usage, "--format bagit needs --out DIR") }
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      try BagTags.write(into: dir, facts: facts, manifest: manifest)
      return nil
    }
  }
}

/// The tag files that make a directory holding `data/` a BagIt bag.
enum BagTags {
  static func write(into dir: String, facts: SealFacts, manifest: SpoolFile) throws {
    let file = try AtomicFile(path: dir + "/manifest-sha256.txt")
    do {
      try ManifestExport.lines({ try manifest.reader() }) { line in try file.write(Array(try ManifestExport.bagitLine(line).utf8)) }
      try file.commit(replace: true)
    } catch {
      file.abort()
      throw error
    }
    try writeFileAtomically(ManifestExport.bagitDeclaration, to: dir + "/bagit.txt", replace: true)
    try writeFileAtomically(ManifestExport.bagInfo(facts, baggingDate: String(Timestamp.now().prefix(10))),
                            to: dir + "/bag-info.txt", replace: true)
  }
}
