import Foundation
import RehostBase
import RehostFormat
import RehostStorage

/// What can be said about an archive without any key or trust.
public struct InspectReport: Sendable {
  public let header: ArchiveHeader
  public let headerLength: Int
  public let fileSize: Int64
  /// Chunks implied by the payload's length, or why the length is impossible.
  public let chunks: Result<Int64, RehostError>
  /// The seal beside the archive, if any (not verified: `verify` does that).
  public let seal: Seal?
  public let sealError: RehostError?
}

public enum Inspect {
  public static func run(archive: String, sealPath: String?) throws -> InspectReport {
    try SealCheck.refuseSealAsArchive(archive, sealPath: sealPath)
    let source = try FileSource(path: archive, what: "archive")
    let size = try source.size()
    let (header, length) = try ArchiveHeader.read(from: source)
    var seal: Seal?
    var sealError: RehostError?
    do {
      seal = try SealCheck.load(archive: archive, sealPath: sealPath)
    } catch let error as RehostError {
      sealError = error
    }
    return InspectReport(
      header: header, headerLength: length, fileSize: size,
      chunks: ChunkedStream.chunkCount(payloadLength: size - Int64(length), chunkSize: header.chunkSize),
      seal: seal, sealError: sealError)
  }
}
