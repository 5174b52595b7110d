import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// What `verify` checks and with what.
public struct VerifyOptions {
  public var archive: String
  public var sealPath: String?
  /// Whose signatures count, and what the seal needs.
  public var policy: TrustPolicy
  /// Bag serials the counted signatures must have recorded (nil: not checked).
  public var expectedBags: [String]?
  /// Keys and passphrase for a deep verify; none for the auditor's key-free check.
  public var identities: [Identity] = []
  /// Custodian share files (from `rehost share export`) for a k-of-n archive.
  public var shareFiles: [String] = []

  public init(archive: String, sealPath: String? = nil, policy: TrustPolicy) {
    self.archive = archive
    self.sealPath = sealPath
    self.policy = policy
  }
}

/// What `verify` found (it throws instead when something is wrong).
public struct VerifyReport: Sendable {
  public let facts: SealFacts
  public let signatures: [SignatureCheck]
  /// Chunks in the payload (checked by length without a key, by authentication with one).
  public let chunks: Int64
  /// Present after a deep verify.
  public let payload: PayloadSummary?
}

/// The auditor's check (seal signatures, archive hash and structure; no key) and the
/// sysadmin's deep check (every chunk authenticated, every entry against the manifest).
public enum Verify {
  public static func run(_ options: VerifyOptions, progress: ProgressObserver? = nil) throws -> VerifyReport {
    let seal = try SealCheck.load(archive: options.archive, sealPath: options.sealPath)
    let signatures = try SealCheck.check(seal, policy: options.policy, expectedBags: options.expectedBags)
    let facts = try SealFacts(fields: seal.statement)
    try SealCheck.expectSealFor(options.archive, facts, sealGiven: options.sealPath != nil)

    let reader: ArchiveFileReader
    do {
      reader = try ArchiveFileReader(path: options.archive)
    } catch let error as RehostError where error.kind == .corrupt {
      // A damaged header: the hash comparison gives the clearest account of it.
      let (sha256, size) = try hashFile(options.archive)
      try SealCheck.compare(facts, sha256: sha256, size: size)
      throw error
    }
    try checkRecipients(reader.header, facts)

    var payload: PayloadSummary?
    if !options.identities.isEmpty || !options.shareFiles.isEmpty {
      let tar = try reader.openPayload(with: options.identities, shareFiles: options.shareFiles)
      payload = try PayloadWalker(tar: tar, seal: facts, progress: progress).run(DiscardingHandler())
    } else {
      reader.reportReading(to: progress, size: facts.archiveSize)
    }
    let size = try reader.finish(against: facts, payload: payload)
    let chunks = try ChunkedStream.chunkCount(
      payloadLength: size - Int64(reader.headerLength), chunkSize: reader.header.chunkSize).get()
    return VerifyReport(facts: facts, signatures: signatures, chunks: chunks, payload: payload)
  }

  /// The seal names who can open the archive; the header must agree.
  /// The key-free check of an archive that is not on disk (a copy read through rclone):
  /// the seal's exact bytes against `policy`, then every byte of `archive` against the
  /// sealed SHA-256 and size. Nothing of the archive is kept.
  public static func stream(seal bytes: [UInt8], archive: ByteSource, policy: TrustPolicy) throws -> VerifyReport {
    let seal = try Seal.parse(bytes)
    let signatures = try SealCheck.check(seal, policy: policy)
    let facts = try SealFacts(fields: seal.statement)
    let source = HashingSource(source: archive)
    let digest = try source.drainAndDigest()
    try SealCheck.compare(facts, sha256: digest, size: source.byteCount)
    return VerifyReport(facts: facts, signatures: signatures, chunks: 0, payload: nil)
  }

  static func checkRecipients(_ header: ArchiveHeader, _ facts: SealFacts) throws {
    let inHeader = header.stanzas.map(\.sealDescription)
    guard inHeader == facts.recipients else {
      throw RehostError(.corrupt, "the archive's recipients (\(inHeader.joined(separator: "; "))) differ from the seal's (\(facts.recipients.joined(separator: "; ")))",
                        hint: "the archive is not the one sealed; use another copy")
    }
  }

  static func hashFile(_ path: String) throws -> (String, Int64) {
    let source = HashingSource(source: try FileSource(path: path, what: "archive"))
    let digest = try source.drainAndDigest()
    return (digest, source.byteCount)
  }
}

/// Deep verify reads every byte but writes nothing.
final class DiscardingHandler: EntryHandler {
  func begin(_ entry: CheckedEntry) throws {}
  func data(_ bytes: UnsafeRawBufferPointer) throws {}
  func end(_ entry: CheckedEntry) throws {}
}
