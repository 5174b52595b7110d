/// One thing a post-move check found, with what to do about it.
public struct Finding: Sendable, Codable, Equatable {
  public enum Severity: String, Sendable, Codable, Comparable, CaseIterable {
    case info, warning, error

    var rank: Int { self == .error ? 2 : self == .warning ? 1 : 0 }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
  }

  public let severity: Severity
  /// The file (or "-" for findings about the run itself).
  public let file: String
  /// 1-based line of the PEM block, when known.
  public let line: Int?
  /// What was inspected, e.g. "RSA-1024 private key", "certificate CN=www.example.org".
  public let subject: String
  public let problem: String
  public let action: String
}
