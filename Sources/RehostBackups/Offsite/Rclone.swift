import Foundation
import RehostBase
import RehostStorage

/// rclone, driven as a subprocess (as pg_dump is): it speaks S3, SFTP, WebDAV and the rest,
/// and its users know its `name:path` remotes. rehost never parses credentials: they stay
/// in the rclone config file, and a remote given as a connection string
/// (`:sftp,user=u,pass=...:path`) is shown with its parameters blanked.
public struct Rclone: Sendable {
  /// The rclone config file (`--config`); nil: rclone's own default.
  public let configFile: String?

  public init(configFile: String?) { self.configFile = configFile }

  /// How a failed rclone command ended: its exit status (rclone's own codes: 3 directory
  /// not found, 4 file not found, 5 a temporary error, ...) and its last error lines.
  public struct Failure: Error, Sendable {
    public let status: Int32
    public let message: String
  }

  /// Fails soon on a remote that is down (the run reports it and the next run retries)
  /// instead of retrying for minutes; quiet but for errors.
  var arguments: [String] {
    (configFile.map { ["--config", $0] } ?? []) + ["--retries", "2", "--low-level-retries", "3", "--contimeout", "15s", "--timeout", "2m", "-q"]
  }

  /// `remote` joined with a file name: `name:path/file`, or `name:file` at a remote's root.
  public static func join(_ remote: String, _ name: String) -> String {
    remote.hasSuffix(":") || remote.hasSuffix("/") ? remote + name : remote + "/" + name
  }

  /// How rclone's S3 backend names the earlier versions of `name` with --s3-versions:
  /// `STEM-vYYYY-MM-DD-HHMMSS-mmm.EXT`. `stem` and `ext` (with its dot) of `name`.
  public static func versionParts(of name: String) -> (stem: Substring, ext: Substring) {
    let dot = name.lastIndex(of: ".") ?? name.endIndex
    return (name[..<dot], name[dot...])
  }

  /// A remote as messages show it: a connection string's parameters (which may hold a
  /// password or a key) blanked.
  public static func shown(_ remote: String) -> String {
    remote.replacingOccurrences(of: #",[A-Za-z0-9_]+=[^,:]*"#, with: ",…", options: .regularExpression)
  }

  /// Runs rclone and returns its standard output (at most `limit` bytes).
  public func output(_ subcommand: [String], limit: Int = 64 << 20) throws -> [UInt8] {
    let process = try start(subcommand)
    guard let bytes = try process.readAll(limit: limit) else {
      throw Failure(status: -1, message: "its output is larger than \(limit) bytes")
    }
    try finish(process)
    return bytes
  }

  /// Starts rclone with its standard output as a pipe (read it, then ``finish(_:)``).
  public func start(_ subcommand: [String]) throws -> Subprocess {
    do {
      return try Subprocess("rclone", subcommand + arguments)
    } catch let error as RehostError {
      throw RehostError(.offsite, "\(error.message): offsite copies are made with rclone", hint: "install it (apt install rclone) or put it on PATH, and run again")
    }
  }

  /// Waits for rclone and throws its failure.
  public func finish(_ process: Subprocess) throws {
    let result = try process.wait()
    guard result.succeeded else {
      let status: Int32 = if case .exited(let code) = result { code } else { -1 }
      throw Failure(status: status, message: Self.lastError(process.errorOutput()))
    }
  }

  /// rclone's own words: its last error line, without the date, credentials blanked.
  static func lastError(_ text: String) -> String {
    let lines = text.split(separator: "\n").map { line in
      String(line).replacingOccurrences(of: #"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d "#, with: "", options: .regularExpression)
    }
    let last = lines.last { $0.hasPrefix("Failed") || $0.hasPrefix("ERROR") } ?? lines.last ?? "no message"
    return shown(last)
  }
}
