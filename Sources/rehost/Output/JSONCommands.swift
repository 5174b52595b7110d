import Foundation
import RehostFormat
import RehostServices

/// The object each `--json` command prints on success (docs/JSON.md). Every one has
/// `command` and `status: "ok"`; a failure prints ``JSONReport/Failure`` instead.
extension JSONReport {
  struct Snapshot: Encodable {
    let command = "snapshot", status = "ok"
    let archive: String
    let seal: String
    let statement: Statement
    let warnings: [String]
    let notes: [String]
  }

  struct Verify: Encodable {
    let command = "verify", status = "ok"
    let archive: String
    let statement: Statement
    let signatures: [CheckedSignature]
    let trust: Trust
    let chunks: Int64
    /// Whether the content was decrypted and checked (a key was given).
    let deep: Bool
    let content: Content?
  }

  struct Restore: Encodable {
    let command = "restore", status = "ok"
    let archive: String
    let statement: Statement
    let signatures: [CheckedSignature]
    let trust: Trust
    let target: String?
    let bagit: Bool
    let content: Content
    let databases: [RestoredDatabase]
    let notes: [String]
    let warnings: [String]
  }

  struct Inspect: Encodable {
    let command = "inspect", status = "ok"
    let archive: String
    let fileSize: Int64
    let headerLength: Int
    let chunkSize: Int
    /// Nil when the file's length is impossible for its header (`chunksError` says why).
    let chunks: Int64?
    let chunksError: String?
    let recipients: [Recipient]
    /// The seal as written, unchecked; nil when it could not be read (`sealError`).
    let seal: SealJSON?
    let sealError: String?

    struct Recipient: Encodable {
      /// `x25519`, `scrypt`, `custodian`, or the unknown type's name.
      let type: String
      let arguments: [String]
    }

    init(archive: String, _ r: InspectReport) {
      self.archive = archive
      (fileSize, headerLength, chunkSize) = (r.fileSize, r.headerLength, r.header.chunkSize)
      switch r.chunks {
      case .success(let n): (chunks, chunksError) = (n, nil)
      case .failure(let e): (chunks, chunksError) = (nil, e.message)
      }
      recipients = r.header.stanzas.map { Recipient(type: $0.type, arguments: $0.arguments) }
      seal = r.seal.map(SealJSON.init)
      sealError = r.sealError?.message
    }
  }

  /// A seal as written: its statement (typed where it parses), the statement's hash,
  /// and its signature blocks. Not a verdict: `verify` checks.
  struct SealJSON: Encodable {
    let statement: Statement?
    let statementError: String?
    let statementSHA256: String
    let signatures: [SignatureBlock]

    init(_ seal: RehostFormat.Seal) {
      do {
        (statement, statementError) = (Statement(try SealFacts(fields: seal.statement)), nil)
      } catch {
        (statement, statementError) = (nil, "\(error)")
      }
      statementSHA256 = seal.statementSHA256
      signatures = seal.signatures.map(SignatureBlock.init)
    }
  }

  struct SealShow: Encodable {
    let command = "seal show", status = "ok"
    let archive: String
    let seal: SealJSON
  }

  struct ManifestExport: Encodable {
    let command = "manifest export", status = "ok"
    let archive: String
    let format: String
    let out: String
  }
}
