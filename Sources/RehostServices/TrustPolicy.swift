import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostStorage

/// Whose signatures count on a seal, as what, and what a seal needs to be accepted.
///
/// Policy files are plain text, one statement per line (`#` starts a comment):
///
/// ```
/// trust operator.pub as operator
/// trust auditor.pub as auditor, witness
/// trust isp.pub as isp-witness person isp-nl
/// require operator
/// require auditor
/// require 2 people
/// ```
///
/// - `trust KEY.pub as ROLE[, ROLE...] [person NAME]`: the key's signatures count when
///   made in one of these roles (`*`: any role). Key paths are relative to the policy
///   file. Each key is a person of its own unless `person` names the same person twice.
/// - `require ROLE [N]`: at least N (default 1) distinct people signed in that role.
/// - `require N people`: at least N distinct people among the counted signatures.
///
/// `--trust KEY.pub` on the command line is the policy "trust each as *, require 1 people".
public struct TrustPolicy: Sendable {
  public struct TrustedKey: Sendable {
    public let key: AsymmetricKey
    public let path: String
    public let roles: [String]
    public let person: String

    public init(key: AsymmetricKey, path: String, roles: [String], person: String) {
      (self.key, self.path, self.roles, self.person) = (key, path, roles, person)
    }

    public func allows(_ role: String) -> Bool { roles.contains("*") || roles.contains(role) }
  }

  public enum Requirement: Sendable, Equatable {
    case role(String, count: Int)
    case people(Int)
  }

  public let keys: [TrustedKey]
  public let requirements: [Requirement]
  /// Where the policy came from, for messages.
  public let source: String
  /// `--trust`: the key that sealed must be one of the trusted keys; a trusted
  /// countersignature over a stranger's seal is refused as an untrusted seal.
  public var sealerMustBeTrusted = false

  public init(keys: [TrustedKey], requirements: [Requirement], source: String) {
    self.keys = keys
    self.requirements = requirements
    self.source = source
  }

  /// The policy `--trust A.pub --trust B.pub` stands for: the seal's sealer is one of them.
  public static func trusting(_ identities: [PublicIdentity]) throws -> TrustPolicy {
    let keys = try identities.map { identity in
      guard let key = identity.signing else {
        throw RehostError(.usage, "\(identity.path) has no Ed25519 signing key to trust")
      }
      return TrustedKey(key: key, path: identity.path, roles: ["*"], person: key.fingerprint())
    }
    // The sealer vouches for the content; a countersignature alone (an auditor's) does not.
    var policy = TrustPolicy(keys: keys, requirements: [.role("sealer", count: 1)], source: "--trust")
    policy.sealerMustBeTrusted = true
    return policy
  }

  /// The largest policy file read (a real one is a few lines).
  public static let maxBytes = 64 * 1024

  /// One `trust` statement, before its key file is read.
  public struct TrustStatement: Equatable, Sendable {
    public let keyPath: String
    public let roles: [String]
    public let person: String?
    public let line: Int
  }

  /// Parses a policy's text: its statements, in order. Throws `.usage` naming the line.
  /// Nothing is read from disk (the fuzz target drives this).
  public static func parse(_ bytes: [UInt8], source: String) throws -> (trusts: [TrustStatement], requirements: [Requirement]) {
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw RehostError(.usage, "\(source) is not UTF-8 text", hint: "a policy is a small text file (see the README's policy section)")
    }
    var trusts: [TrustStatement] = []
    var requirements: [Requirement] = []
    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      func bad(_ why: String) -> RehostError {
        RehostError(.usage, "\(source):\(index + 1): \(why)", hint: "see `rehost verify --help` and the README's policy section")
      }
      guard rawLine.utf8.count <= 4096 else { throw bad("the line is longer than 4096 bytes") }
      let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
      let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == "\r" }).map(String.init)
      guard let verb = words.first else { continue }
      switch verb {
      case "trust":
        guard words.count >= 4, words[2] == "as" else { throw bad("expected 'trust KEY.pub as ROLE[, ROLE...] [person NAME]'") }
        var roles = Array(words[3...])
        var person: String?
        if let p = roles.firstIndex(of: "person") {
          guard p + 2 == roles.count else { throw bad("'person' takes one name, at the end") }
          person = roles[p + 1]
          roles.removeSubrange(p...)
        }
        guard !roles.isEmpty, roles.allSatisfy(Roles.isValid) else { throw bad("roles are lower-case words such as operator, auditor, isp-witness") }
        trusts.append(TrustStatement(keyPath: words[1], roles: roles, person: person, line: index + 1))
      case "require":
        if words.count == 3, words[2] == "people", let n = Int(words[1]), n > 0, n <= 1000 {
          requirements.append(.people(n))
        } else if words.count == 2 || words.count == 3, Roles.isValid(words[1]), words[1] != "*" {
          let count = words.count == 3 ? Int(words[2]) : 1
          guard let count, count > 0, count <= 1000 else { throw bad("expected 'require ROLE [COUNT]'") }
          requirements.append(.role(words[1], count: count))
        } else {
          throw bad("expected 'require ROLE [COUNT]' or 'require N people'")
        }
      default:
        throw bad("unknown statement '\(verb.prefix(40))'")
      }
    }
    guard !trusts.isEmpty else { throw RehostError(.usage, "\(source) trusts no key", hint: "add 'trust KEY.pub as ROLE' lines") }
    if requirements.isEmpty { requirements = [.people(1)] }
    return (trusts, requirements)
  }

  /// Reads a policy file (at most 64 KiB) and the key files it names, relative to it.
  public static func load(_ path: String) throws -> TrustPolicy {
    let (trusts, requirements) = try parse(try InputFile.read(path, what: "policy file", limit: maxBytes), source: path)
    let base = URL(fileURLWithPath: path).deletingLastPathComponent()
    let keys = try trusts.map { trust in
      let keyPath = trust.keyPath.hasPrefix("/") ? trust.keyPath : base.appendingPathComponent(trust.keyPath).path
      let identity = try KeyFiles.readPublic(keyPath)
      guard let key = identity.signing else {
        throw RehostError(.usage, "\(path):\(trust.line): \(trust.keyPath) has no Ed25519 signing key",
                          hint: "name a NAME.pub written by `rehost keygen`")
      }
      return TrustedKey(key: key, path: trust.keyPath, roles: trust.roles, person: trust.person ?? key.fingerprint())
    }
    return TrustPolicy(keys: keys, requirements: requirements, source: path)
  }
}
