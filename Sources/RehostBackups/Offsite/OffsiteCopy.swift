import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// Copies a repository to an rclone remote (docs/BACKUP.md, "Offsite copies"): what the
/// remote lacks, oldest first, each copy checked against the recorded SHA-256; the chain
/// last, so the remote's chain never records a backup whose files are not there. A copy
/// never replaces a remote file the chain vouches for, and never copies onto a remote
/// that holds another repository or another history.
public enum OffsiteCopy {
  public struct Result: Sendable {
    public let remote: String
    /// Files copied, in order.
    public var copied: [String] = []
    /// Files of pruned backups removed from the remote.
    public var removed: [String] = []
    /// Files of pruned backups the remote would not delete (an object lock), with rclone's words.
    public var kept: [String] = []
  }

  /// `rehost backup copy`: the same copy by hand, holding the repository's lock, so no
  /// nightly run changes the repository under it.
  public static func run(repositoryAt path: String, to remote: String, rclone: Rclone) throws -> Result {
    let repository = try Repository.open(path)
    let lock = try LockFile(path: repository.file(".lock"), purpose: "copying \(repository.path) to \(Rclone.shown(remote))")
    defer { lock.release() }
    return try run(repository, to: remote, rclone: rclone)
  }

  /// Copies `repository` (a local directory) to `remote`.
  /// - Throws: `.offsite` naming the remote and the file, with rclone's own message.
  public static func run(_ repository: Repository, to remote: String, rclone: Rclone) throws -> Result {
    var result = Result(remote: remote)
    let shown = Rclone.shown(remote)
    let chainBytes = try InputFile.read(repository.chainPath, what: "chain", limit: 1 << 30, kind: .seal)
    let chain = try Chain.read(repository, bytes: chainBytes)
    let files = RcloneFiles(remote: remote, rclone: rclone)
    let there = try files.list()  // as it was before this copy: the reads below use it too

    // The same repository, the same history so far: else stop before writing anything.
    let info = try InputFile.read(repository.file(Repository.infoName), what: "repository file", limit: 64 * 1024)
    if there[Repository.infoName] != nil {
      guard try files.read(Repository.infoName, what: "repository file", limit: 64 * 1024) == info else {
        throw RehostError(.offsite, "\(shown) holds another repository (its \(Repository.infoName) is not \(repository.path)'s)",
                          hint: "give each repository a remote path of its own")
      }
    } else {
      try upload(Repository.infoName, sha256: Hex.encode(SHA256.hash(info)), from: repository, to: remote, rclone: rclone, result: &result)
    }
    if there[Repository.chainName] != nil {
      let remoteChain = try files.read(Repository.chainName, what: "chain", limit: 1 << 30) ?? []
      guard remoteChain.count <= chainBytes.count, Array(chainBytes.prefix(remoteChain.count)) == remoteChain,
            remoteChain.isEmpty || remoteChain.last == UInt8(ascii: "\n") else {
        throw RehostError(.offsite, "the chain on \(shown) is not a beginning of \(repository.path)'s: it was altered there, or the local repository was put back to an older state",
                          hint: "nothing more is copied there; run `rehost backup verify-chain` on both and compare")
      }
    }

    let sizes = try repository.files.list()
    for backup in chain.live {
      for (name, sha256) in [(backup.archive, backup.archiveSHA256), (backup.archive + ".seal", backup.sealSHA256)] {
        guard let size = sizes[name] else { continue }  // verify-chain reports it; copy what is there
        if there[name] == size { continue }
        try upload(name, sha256: sha256, from: repository, to: remote, rclone: rclone, result: &result)
      }
    }
    // Pruned here: pruned there too, unless the remote's lock keeps it. On S3 with
    // versioning every version goes (a plain delete would only hide the data under a
    // delete marker, and the name would never be tried again); under Object Lock the
    // versions are refused until their retention ends, and the next run tries again.
    for backup in chain.backups where chain.prunes[backup.sequence] != nil {
      for name in [backup.archive, backup.archive + ".seal"] where there[name] != nil {
        let (stem, ext) = Rclone.versionParts(of: name)
        do {
          _ = try rclone.output(["delete", "--s3-versions", "--retries", "1", remote,
                                 "--include", "/" + name, "--include", "/" + stem + "-v*" + ext])
          result.removed.append(name)
        } catch let failure as Rclone.Failure {
          result.kept.append("\(name) (\(failure.message))")
        }
      }
    }
    if there[Repository.chainName] != Int64(chainBytes.count) {
      try upload(Repository.chainName, sha256: Hex.encode(SHA256.hash(chainBytes)), from: repository, to: remote, rclone: rclone, result: &result)
    }
    return result
  }

  /// Copies one file and checks the copy's SHA-256: from the remote's own hash where the
  /// backend has SHA-256, else by reading it back.
  static func upload(_ name: String, sha256: String, from repository: Repository, to remote: String, rclone: Rclone,
                     result: inout Result) throws {
    let target = Rclone.join(remote, name)
    do {
      _ = try rclone.output(["copyto", repository.file(name), target])
    } catch let failure as Rclone.Failure {
      throw RcloneFiles.error(failure, "copy \(name) to", remote)
    }
    let copied: String
    do {
      copied = try remoteSHA256(target, rclone: rclone)
    } catch let failure as Rclone.Failure {
      throw RcloneFiles.error(failure, "read back \(name) from", remote)
    }
    guard copied == sha256 else {
      throw RehostError(.offsite, "the copy of \(name) on \(Rclone.shown(remote)) has SHA-256 \(copied), not \(sha256)",
                        hint: "the remote altered or truncated it; the next run copies it again")
    }
    result.copied.append(name)
  }

  static func remoteSHA256(_ target: String, rclone: Rclone) throws -> String {
    func parse(_ bytes: [UInt8]) -> String? {
      let word = String(decoding: bytes, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
      return word.count == 64 && word.allSatisfy(\.isHexDigit) ? word.lowercased() : nil
    }
    if let hash = (try? rclone.output(["hashsum", "sha256", target])).flatMap(parse) { return hash }
    guard let hash = parse(try rclone.output(["hashsum", "sha256", "--download", target])) else {
      throw Rclone.Failure(status: -1, message: "rclone hashsum printed no SHA-256")
    }
    return hash
  }
}
