import Foundation
import RehostBase

/// A documented procedure rehost executes step by step (docs/RUNBOOK.md): the move of a
/// CA, a restore drill. Read from `runbooks/*.yaml` by ``RunbookReader``.
public struct Runbook: Sendable {
  public static let version = 1

  public struct Param: Sendable {
    public let name: String
    /// nil: the param must be given (`--param NAME=VALUE`).
    public let defaultValue: String?
  }

  public struct Phase: Sendable {
    public let title: String
    public let steps: [Step]
  }

  public struct Step: Sendable {
    public let id: String
    public let title: String
    /// What the people present read before they act.
    public let text: String
    public let kind: Kind
    /// Where the step starts in the runbook file.
    public let line: Int

    /// The values the step records: `value` for a record step, its captures for a
    /// command or check.
    public var valueNames: [String] {
      switch kind {
      case .record: ["value"]
      case .command(let c), .check(let c): c.captures.map(\.name)
      default: []
      }
    }

    public var kindName: String {
      switch kind {
      case .instruction: "instruction"
      case .command: "command"
      case .check: "check"
      case .record: "record"
      case .witness: "witness"
      }
    }
  }

  public enum Kind: Sendable {
    /// Done when the operator confirms it.
    case instruction
    /// A shell command: run, its status held to `expect`, values captured from its output.
    case command(Command)
    /// Like a command, but its failure stops the run until it passes or an exception is recorded.
    case check(Command)
    /// A value a person gives (a bag serial), perhaps held to a pattern and to an earlier value.
    case record(Record)
    /// Sign-off by people of the policy's roles, each with their own key.
    case witness(Witness)
  }

  public struct Command: Sendable {
    /// The shell command as written, `${...}` not yet substituted.
    public let run: String
    public let expect: Int32
    public let captures: [(name: String, pattern: String)]
    /// Safe to run again when a run was stopped during it.
    public let idempotent: Bool
    /// Seconds; nil: no limit.
    public let timeout: Double?
  }

  public struct Record: Sendable {
    public let prompt: String
    /// A regular expression the whole value must match.
    public let pattern: String?
    /// An earlier step's value this one must equal (the bag opened in Ede is the one sealed in Vienna).
    public let equals: Reference?
  }

  public struct Witness: Sendable {
    /// Roles of the policy that may sign off this step.
    public let roles: [String]
    /// How many distinct people must.
    public let people: Int
  }

  /// `STEP.NAME`: a value an earlier step recorded.
  public struct Reference: Sendable, Hashable, CustomStringConvertible {
    public let step: String
    public let name: String
    public var description: String { "\(step).\(name)" }
  }

  /// The file it was read from, and the SHA-256 of its bytes (journalled at the start).
  public let file: String
  public let sha256: String
  public let title: String
  public let params: [Param]
  /// The trust policy's path as written (`${...}` allowed).
  public let policy: String
  public let phases: [Phase]

  public var steps: [Step] { phases.flatMap(\.steps) }

  public func phase(of stepID: String) -> (index: Int, phase: Phase)? {
    phases.enumerated().first { $0.element.steps.contains { $0.id == stepID } }.map { ($0.offset, $0.element) }
  }
}

/// `${param}` and `${step.name}` in commands and texts.
public enum Placeholders {
  /// The names a template refers to, in order.
  public static func names(in template: String) -> [String] {
    var names: [String] = []
    var rest = Substring(template)
    while let start = rest.range(of: "${") {
      guard let end = rest[start.upperBound...].firstIndex(of: "}") else { break }
      names.append(String(rest[start.upperBound..<end]))
      rest = rest[rest.index(after: end)...]
    }
    return names
  }

  /// The names a shell command refers to from inside quotes: filled in as a quoted word
  /// of its own, such a placeholder would keep its quotes literally ("'BAG-0042'").
  public static func quotedNames(inCommand command: String) -> [String] {
    var names: [String] = []
    var single = false, double = false, escaped = false
    var scalars = Substring(command)
    while let c = scalars.first {
      if escaped {
        escaped = false
      } else if c == "\\" && !single {
        escaped = true
      } else if c == "'" && !double {
        single.toggle()
      } else if c == "\"" && !single {
        double.toggle()
      } else if c == "$", scalars.dropFirst().first == "{", let end = scalars.firstIndex(of: "}") {
        if single || double { names.append(String(scalars[scalars.index(scalars.startIndex, offsetBy: 2)..<end])) }
        scalars = scalars[scalars.index(after: end)...]
        continue
      }
      scalars = scalars.dropFirst()
    }
    return names
  }

  /// Fills a template. With `quote`, each value is one single-quoted shell word (so a
  /// value a person typed can never become shell syntax).
  public static func fill(_ template: String, quote: Bool, lookup: (String) -> String?) throws -> String {
    var out = ""
    var rest = Substring(template)
    while let start = rest.range(of: "${") {
      out += rest[..<start.lowerBound]
      guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
        throw RehostError(.usage, "unterminated ${ in '\(template)'")
      }
      let name = String(rest[start.upperBound..<end])
      guard let value = lookup(name) else { throw RehostError(.usage, "${\(name)} has no value yet") }
      out += quote ? shellQuoted(value) : value
      rest = rest[rest.index(after: end)...]
    }
    return out + rest
  }

  public static func shellQuoted(_ value: String) -> String {
    "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
