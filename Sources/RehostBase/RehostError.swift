/// The one error type that reaches the user.
///
/// Every failure says what happened (`message`) and what to do about it (`hint`).
/// `kind` decides the process exit code; the mapping lives in one place, the
/// `rehost` executable's `ExitCodes.swift`, and is documented in the README.
public struct RehostError: Error, CustomStringConvertible, Sendable {
  /// Families of failure, one exit code each.
  public enum Kind: String, Sendable, CaseIterable {
    /// Bad command line or unreadable input file named on it.
    case usage
    /// The archive's bytes are not what was written: corrupt, truncated, tampered.
    case corrupt
    /// The seal is missing, malformed, does not match the archive, or no trusted key signed it.
    case seal
    /// No given key or passphrase opens the archive, or a key file cannot be read.
    case key
    /// A safety rule refused the operation: unsafe paths in an archive, a non-empty target.
    case refused
    /// The seal is sound but does not meet the trust policy (a required role has not
    /// signed) or the physical seals (bag serials) expected.
    case policy
    /// Anything else: I/O errors (disk full, permission denied), a dying dependency.
    case failure
    /// Another rehost run holds what this one needs (the same restore target, the same
    /// backup repository); the message names it (pid, start time).
    case busy
    /// A signal (SIGINT, SIGTERM, SIGHUP) stopped the run after it undid its half-done work.
    case interrupted
    /// A copy to an offsite remote (through rclone) failed or did not check out; the
    /// local backup is kept, and the next run copies what the remote lacks.
    case offsite
  }

  public let kind: Kind
  /// What went wrong, in one sentence, naming the file, chunk or entry involved.
  public let message: String
  /// What the user can do next.
  public let hint: String?

  public init(_ kind: Kind, _ message: String, hint: String? = nil) {
    self.kind = kind
    self.message = message
    self.hint = hint
  }

  public var description: String {
    hint.map { "\(message)\n  hint: \($0)" } ?? message
  }
}
