import Foundation
import RehostBase
import RehostFormat
import RehostServices
import RehostStorage

/// Where an audit reads a repository's files from: its directory, or a copy on an rclone
/// remote (``RcloneFiles``). `verify-chain` and `list` read through it and never write.
public protocol RepositoryFiles: Sendable {
  /// The place as messages show it: a path, or `rclone:remote:path`.
  var shown: String { get }
  /// The regular files at the top, with their sizes.
  func list() throws -> [String: Int64]
  /// A small file's bytes; nil when it is not there.
  func read(_ name: String, what: String, limit: Int) throws -> [UInt8]?
  /// Checks backup `archive` against the seal `seal` (its name) under `policy`: the
  /// signatures, the archive's SHA-256 and size and, with identities, every chunk and entry.
  func verify(_ archive: String, seal: String, policy: TrustPolicy, identities: [Identity]) throws -> VerifyReport
  /// Earlier versions of `name` that the store keeps (an S3 bucket with versioning, as
  /// Object Lock requires), newest first, by names that `read` and `verify` take; empty
  /// where the store keeps none.
  func earlierVersions(of name: String) throws -> [String]
}

extension RepositoryFiles {
  public func earlierVersions(of name: String) throws -> [String] { [] }
}

/// A repository's own directory.
public struct LocalFiles: RepositoryFiles {
  public let path: String
  public var shown: String { path }

  public init(path: String) { self.path = path }

  public func list() throws -> [String: Int64] {
    var sizes: [String: Int64] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
      var st = stat()
      if lstat(path + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { sizes[name] = Int64(st.st_size) }
    }
    return sizes
  }

  public func read(_ name: String, what: String, limit: Int) throws -> [UInt8]? {
    let file = path + "/" + name
    guard FileManager.default.fileExists(atPath: file) else { return nil }
    return try InputFile.read(file, what: what, limit: limit, kind: .seal)
  }

  public func verify(_ archive: String, seal: String, policy: TrustPolicy, identities: [Identity]) throws -> VerifyReport {
    var options = VerifyOptions(archive: path + "/" + archive, sealPath: path + "/" + seal, policy: policy)
    options.identities = identities
    return try Verify.run(options)
  }
}

extension Repository {
  /// Where `--config`'s or a command line's REPO is: `rclone:REMOTE` (read through
  /// rclone, with `rcloneConfig`) or a directory.
  public static func files(_ location: String, rcloneConfig: String?) -> any RepositoryFiles {
    location.hasPrefix("rclone:") ? RcloneFiles(remote: String(location.dropFirst(7)), rclone: Rclone(configFile: rcloneConfig))
      : LocalFiles(path: location)
  }
}
