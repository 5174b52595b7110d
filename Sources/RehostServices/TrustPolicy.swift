import Foundation
import RehostBase
import RehostCrypto

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

    func allows(_ role: String) -> Bool { roles.contains("*") || roles.contains(role) }
  }

  public enum Requirement: Sendable, Equatable {
    case role(String, count: Int)
    case people(Int)
  }

  public let keys: [TrustedKey]
  public let requirements: [Requirement]
  /// Where the policy came from, for messages.
  public let source: String

  public init(keys: [TrustedKey], requirements: [Requirement], source: String) {
    self.keys = keys
    self.requirements = requirements
    self.source = source
  }

  /// The policy `--trust A.pub --trust B.pub` stands for.
  public static func trusting(_ identities: [PublicIdentity]) throws -> TrustPolicy {
    let keys = try identities.map { identity in
      guard let key = identity.signing else {
        throw RehostError(.usage, "\(identity.path) has no Ed25519 signing key to trust")
      }
      return TrustedKey(key: key, path: identity.path, roles: ["*"], person: key.fingerprint())
    }
    return TrustPolicy(keys: keys, requirements: [.people(1)], source: "--trust")
  }

  /// Reads a policy file.
  public static func load(_ path: String) throws -> TrustPolicy {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw RehostError(.usage, "cannot read policy file \(path)", hint: "check the path and permissions")
    }
    let base = URL(fileURLWithPath: path).deletingLastPathComponent()
    var keys: [TrustedKey] = []
    var requirements: [Requirement] = []
    for (index, rawLine) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
      let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
      guard let verb = words.first else { continue }
      func bad(_ why: String) -> RehostError {
        RehostError(.usage, "\(path):\(index + 1): \(why)", hint: "see `rehost verify --help` and the README's policy section")
      }
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
        let keyPath = words[1].hasPrefix("/") ? words[1] : base.appendingPathComponent(words[1]).path
        let identity = try KeyFiles.readPublic(keyPath)
        guard let key = identity.signing else { throw bad("\(words[1]) has no Ed25519 signing key") }
        keys.append(TrustedKey(key: key, path: words[1], roles: roles, person: person ?? key.fingerprint()))
      case "require":
        if words.count == 3, words[2] == "people", let n = Int(words[1]), n > 0 {
          requirements.append(.people(n))
        } else if words.count == 2 || words.count == 3, Roles.isValid(words[1]), words[1] != "*" {
          let count = words.count == 3 ? Int(words[2]) : 1
          guard let count, count > 0 else { throw bad("expected 'require ROLE [COUNT]'") }
          requirements.append(.role(words[1], count: count))
        } else {
          throw bad("expected 'require ROLE [COUNT]' or 'require N people'")
        }
      default:
        throw bad("unknown statement '\(verb)'")
      }
    }
    guard !keys.isEmpty else { throw RehostError(.usage, "\(path) trusts no key", hint: "add 'trust KEY.pub as ROLE' lines") }
    if requirements.isEmpty { requirements = [.people(1)] }
    return TrustPolicy(keys: keys, requirements: requirements, source: path)
  }
}

/// Role names: lower-case letters, digits and dashes (`*` in a policy means any).
public enum Roles {
  public static func isValid(_ role: String) -> Bool {
    role == "*" || (!role.isEmpty && role.count <= 40
      && role.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" })
  }
}
