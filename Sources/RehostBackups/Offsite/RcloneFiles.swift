import Foundation
import RehostBase
import RehostFormat
import RehostServices
import RehostStorage

/// A repository's copy on an rclone remote (`rclone:REMOTE`), read without a local copy:
/// the listing and the small files (info, chain, seals) in memory, each archive streamed
/// through SHA-256 (`rclone cat`); a deep verify spools the one archive it checks.
public final class RcloneFiles: RepositoryFiles, @unchecked Sendable {
  public let remote: String
  public let rclone: Rclone
  public var shown: String { "rclone:" + Rclone.shown(remote) }
  private let lock = NSLock()
  private var listing: [String: Int64]?
  /// Names of earlier versions (`NAME-vYYYY-MM-DD-HHMMSS-mmm.EXT`, as rclone's S3 backend
  /// shows them with --s3-versions), once asked for.
  private var versionNames: Set<String>?

  public init(remote: String, rclone: Rclone) {
    (self.remote, self.rclone) = (remote, rclone)
  }

  /// The remote's files; a remote directory that does not exist yet lists as empty.
  public func list() throws -> [String: Int64] {
    lock.lock()
    defer { lock.unlock() }
    if let listing { return listing }
    let sizes = try lsjson([])
    listing = sizes
    return sizes
  }

  /// The remote's files (with `flags`, such as --s3-versions) and their sizes; a remote
  /// directory that does not exist yet lists as empty.
  private func lsjson(_ flags: [String]) throws -> [String: Int64] {
    let bytes: [UInt8]
    do {
      bytes = try rclone.output(["lsjson"] + flags + ["--files-only", "--no-mimetype", "--no-modtime", remote])
    } catch let failure as Rclone.Failure where failure.status == 3 {
      return [:]
    } catch let failure as Rclone.Failure {
      throw Self.error(failure, "list", remote)
    }
    guard let items = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [[String: Any]] else {
      throw RehostError(.offsite, "rclone's listing of \(Rclone.shown(remote)) is not the JSON it should be", hint: "check the rclone version (Debian 12's 1.60 and later)")
    }
    var sizes: [String: Int64] = [:]
    for item in items {
      if let name = item["Name"] as? String, let size = (item["Size"] as? NSNumber)?.int64Value { sizes[name] = size }
    }
    return sizes
  }

  public func read(_ name: String, what: String, limit: Int) throws -> [UInt8]? {
    guard try list()[name] != nil || isVersion(name) else { return nil }
    do {
      return try rclone.output(catArguments(name), limit: limit)
    } catch let failure as Rclone.Failure {
      throw Self.error(failure, "read \(what) \(name) from", remote)
    }
  }

  public func verify(_ archive: String, seal sealName: String, policy: TrustPolicy, identities: [Identity]) throws -> VerifyReport {
    guard let seal = try read(sealName, what: "seal", limit: Seal.maxSealBytes) else {
      throw RehostError(.seal, "no seal for \(archive) on \(shown)", hint: "the seal is copied beside its archive; run the copy again")
    }
    if identities.isEmpty {
      let process = try rclone.start(catArguments(archive))
      do {
        let report = try Verify.stream(seal: seal, archive: SubprocessOutput(process), policy: policy)
        try rclone.finish(process)
        return report
      } catch let failure as Rclone.Failure {
        throw Self.error(failure, "read \(archive) from", remote)
      } catch {
        // A short read fails the hash before rclone's own error is in: say rclone's.
        process.terminate()
        if case .exited(let code) = try process.wait(), code != 0 {
          throw Self.error(Rclone.Failure(status: code, message: Rclone.lastError(process.errorOutput())), "read \(archive) from", remote)
        }
        throw error
      }
    }
    // A deep verify reads the archive more than once: spool this one, then let it go.
    let spool = try fetch(archive, seal: seal)
    defer { try? FileManager.default.removeItem(atPath: spool) }
    var options = VerifyOptions(archive: spool + "/" + archive, policy: policy)
    options.identities = identities
    return try Verify.run(options)
  }

  /// Fetches `archive` beside `seal` into a new scratch directory of `$TMPDIR` (removed
  /// if the run is stopped) and returns the directory; the caller removes it.
  public func fetch(_ archive: String, seal: [UInt8]) throws -> String {
    let scratch = SpoolFile.defaultDirectory + "/rehost-remote-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    guard mkdir(scratch, 0o700) == 0 else { throw SystemError.io("create a scratch directory in", SpoolFile.defaultDirectory) }
    let cleanup = Interruption.shared.onEnd { try? FileManager.default.removeItem(atPath: scratch) }
    defer { Interruption.shared.unregister(cleanup) }
    do {
      if isVersion(archive) {
        _ = try rclone.output(["copy", "--s3-versions", remote, scratch, "--include", "/" + archive])
      } else {
        _ = try rclone.output(["copyto", Rclone.join(remote, archive), scratch + "/" + archive])
      }
      try Data(seal).write(to: URL(fileURLWithPath: scratch + "/" + archive + ".seal"))
      return scratch
    } catch {
      try? FileManager.default.removeItem(atPath: scratch)
      if let failure = error as? Rclone.Failure { throw Self.error(failure, "fetch \(archive) from", remote) }
      throw error
    }
  }

  /// Earlier versions of `name` on an S3 remote with versioning, newest first (rclone
  /// names them by their time, which sorts as text); none on other backends.
  public func earlierVersions(of name: String) throws -> [String] {
    let (stem, ext) = Rclone.versionParts(of: name)
    return try versions().filter { version in
      guard version.hasPrefix(stem + "-v"), version.hasSuffix(ext), version.count == name.count + 23 else { return false }
      let stamp = version.dropFirst(stem.count + 2).dropLast(ext.count)
      return stamp.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "-") }
    }.sorted(by: >)
  }

  private func isVersion(_ name: String) -> Bool { (try? versions().contains(name)) ?? false }

  /// Every name with --s3-versions, less the current files. A backend without versions
  /// lists only its files (rclone ignores the S3 flag there).
  private func versions() throws -> Set<String> {
    lock.lock()
    if let versionNames {
      lock.unlock()
      return versionNames
    }
    lock.unlock()
    let current = try list()
    let names = Set(try lsjson(["--s3-versions"]).keys.filter { current[$0] == nil })
    lock.withLock { versionNames = names }
    return names
  }

  /// How rclone reads `name`: the file itself, or an earlier version of it (read through
  /// the versions listing: rclone 1.60 finds no version named as a single file).
  private func catArguments(_ name: String) -> [String] {
    isVersion(name) ? ["cat", "--s3-versions", remote, "--include", "/" + name] : ["cat", Rclone.join(remote, name)]
  }

  static func error(_ failure: Rclone.Failure, _ what: String, _ remote: String) -> RehostError {
    RehostError(.offsite, "rclone could not \(what) \(Rclone.shown(remote)) (exit \(failure.status)): \(failure.message)",
                hint: "check the remote (its rclone config, the network, the credentials) and run again")
  }
}
