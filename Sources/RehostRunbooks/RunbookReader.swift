import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import RehostStorage
import Yams

/// One thing wrong with a runbook, where it is.
public struct RunbookProblem: Sendable, CustomStringConvertible {
  public let file: String
  public let line: Int?
  public let message: String
  public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

/// Reads and lints runbook files (docs/RUNBOOK.md): every problem found, each with its
/// line, not just the first.
public enum RunbookReader {
  static let help = "see docs/RUNBOOK.md for the runbook format"
  static let kinds = ["instruction", "command", "check", "record", "witness"]

  /// Reads `file`; throws `.usage` listing every problem (lint's findings included when
  /// the policy can be read).
  public static func load(_ file: String, params: [String: String] = [:], checkingPolicy: Bool = true) throws -> Runbook {
    let (runbook, problems) = try lint(file, params: params, checkingPolicy: checkingPolicy)
    guard let runbook, problems.isEmpty else { throw failure(problems) }
    return runbook
  }

  public static func failure(_ problems: [RunbookProblem]) -> RehostError {
    RehostError(.usage, problems.count == 1 ? problems[0].description
                  : "the runbook has \(problems.count) problems:\n  " + problems.map(\.description).joined(separator: "\n  "),
                hint: help)
  }

  /// Parses and checks `file`: the runbook (nil if it could not be read at all) and the problems.
  public static func lint(_ file: String, params given: [String: String] = [:], checkingPolicy: Bool = true) throws
    -> (Runbook?, [RunbookProblem]) {
    lint(bytes: try InputFile.read(file, what: "runbook", limit: 1 << 20), file: file, params: given, checkingPolicy: checkingPolicy)
  }

  /// Parses and checks a runbook's bytes (`file` names it in problems; the policy it
  /// names is read only when `checkingPolicy`).
  public static func lint(bytes: [UInt8], file: String, params given: [String: String] = [:], checkingPolicy: Bool = true)
    -> (Runbook?, [RunbookProblem]) {
    let sha256 = Hex.encode(SHA256.hash(bytes))
    var problems: [RunbookProblem] = []
    func problem(_ node: Node?, _ message: String) { problems.append(RunbookProblem(file: file, line: node?.mark?.line, message: message)) }
    func attempt<T>(_ body: () throws -> T) -> T? {
      do { return try body() } catch let error as RehostError {
        // YAMLReader's messages start with "FILE:LINE: "; keep the line, drop the prefix.
        let text = error.message.hasPrefix(file) ? String(error.message.dropFirst(file.count)) : ": " + error.message
        let line = text.hasPrefix(":") ? Int(text.dropFirst().prefix { $0.isNumber }) : nil
        let message = text.drop { $0 != " " }.dropFirst()
        problems.append(RunbookProblem(file: file, line: line, message: String(message)))
        return nil
      } catch {
        problems.append(RunbookProblem(file: file, line: nil, message: "\(error)"))
        return nil
      }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      return (nil, [RunbookProblem(file: file, line: nil, message: "it is not UTF-8 text")])
    }
    let reader = YAMLReader(file: file, label: file, help: help)
    guard let root = attempt({ try reader.root(text) }),
          let top = attempt({ try reader.mapping(root, "the runbook", keys: ["runbook", "title", "params", "policy", "phases"]) }) else {
      return (nil, problems)
    }
    if top["runbook"]?.int != Runbook.version { problem(top["runbook"] ?? root, "the first key must be `runbook: \(Runbook.version)` (the schema version)") }
    let title = top["title"].flatMap { node in attempt { try reader.string(node, "title") } } ?? ""
    if top["title"] == nil { problem(root, "the runbook has no `title:`") }
    var params: [Runbook.Param] = []
    if let node = top["params"] {
      if let mapping = node.mapping {
        for (key, value) in mapping {
          guard let name = key.string, isName(name) else { problem(key, "a param name is lower-case letters, digits and dashes"); continue }
          guard !params.contains(where: { $0.name == name }) else { problem(key, "param `\(name)` is given twice"); continue }
          if value.null != nil {
            params.append(Runbook.Param(name: name, defaultValue: nil))
          } else if case .scalar = value, let text = value.string {
            params.append(Runbook.Param(name: name, defaultValue: text))
          } else {
            problem(value, "param `\(name)` takes a text default, or ~ for none")
          }
        }
      } else { problem(node, "`params` must be a mapping (name: default)") }
    }
    let policy = top["policy"].flatMap { node in attempt { try reader.string(node, "policy") } } ?? ""
    if top["policy"] == nil { problem(root, "the runbook has no `policy:` (the trust policy of who acts and witnesses)") }

    var phases: [Runbook.Phase] = []
    var ids: [String: Int] = [:]
    for phaseNode in (top["phases"].flatMap { node in attempt { try reader.sequence(node, "phases") } } ?? []) {
      guard let phase = attempt({ try reader.mapping(phaseNode, "a phase", keys: ["title", "steps"]) }) else { continue }
      let phaseTitle = phase["title"].flatMap { node in attempt { try reader.string(node, "title") } } ?? ""
      if phase["title"] == nil { problem(phaseNode, "a phase has no `title:`") }
      var steps: [Runbook.Step] = []
      for stepNode in (phase["steps"].flatMap { node in attempt { try reader.sequence(node, "steps") } } ?? []) {
        guard let step = attempt({ try parseStep(stepNode, reader: reader, problem: problem) }) ?? nil else { continue }
        if let earlier = ids[step.id] {
          problem(stepNode, "step id `\(step.id)` is used twice (first at line \(earlier))")
        } else {
          ids[step.id] = step.line
        }
        steps.append(step)
      }
      if steps.isEmpty { problem(phaseNode, "phase `\(phaseTitle)` has no steps") }
      phases.append(Runbook.Phase(title: phaseTitle, steps: steps))
    }
    if top["phases"] == nil || phases.isEmpty { problem(root, "the runbook has no phases") }
    let runbook = Runbook(file: file, sha256: sha256, title: title, params: params, policy: policy, phases: phases)
    problems += checkReferences(runbook)
    if checkingPolicy && !policy.isEmpty {
      problems += checkRoles(runbook, params: given)
    }
    return (runbook, problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
  }

  static func parseStep(_ node: Node, reader: YAMLReader, problem: (Node?, String) -> Void) throws -> Runbook.Step? {
    let keys: Set<String> = ["id", "title", "text", "instruction", "command", "check", "record", "witness",
                             "expect", "capture", "idempotent", "timeout", "pattern", "equals"]
    let step = try reader.mapping(node, "a step", keys: keys)
    guard let idNode = step["id"] else { problem(node, "a step has no `id:`"); return nil }
    let id = try reader.string(idNode, "id")
    guard isName(id) else { problem(idNode, "step id `\(id)` is not lower-case letters, digits and dashes"); return nil }
    guard let titleNode = step["title"] else { problem(node, "step `\(id)` has no `title:`"); return nil }
    let title = try reader.string(titleNode, "title")
    let text = try step["text"].map { try reader.string($0, "text") } ?? ""
    let given = kinds.filter { step[$0] != nil }
    guard given.count == 1, let kindName = given.first else {
      problem(node, given.isEmpty ? "step `\(id)` has no kind (one of \(kinds.joined(separator: ", ")))"
                : "step `\(id)` has several kinds (\(given.joined(separator: ", "))); give one")
      return nil
    }
    let allowed: [String: Set<String>] = [
      "instruction": [], "command": ["expect", "capture", "idempotent", "timeout"], "check": ["expect", "capture", "timeout"],
      "record": ["pattern", "equals"], "witness": [],
    ]
    for key in ["expect", "capture", "idempotent", "timeout", "pattern", "equals"] where step[key] != nil && !allowed[kindName]!.contains(key) {
      problem(step[key], "`\(key)` does not apply to a \(kindName) step (`\(id)`)")
    }
    let kindNode = step[kindName]!
    let kind: Runbook.Kind
    switch kindName {
    case "instruction":
      kind = .instruction
    case "command", "check":
      let run = try reader.string(kindNode, kindName)
      let expect = try step["expect"].map { Int32(try reader.int($0, "expect", in: 0...255)) } ?? 0
      var captures: [(String, String)] = []
      if let captureNode = step["capture"] {
        guard let mapping = captureNode.mapping else { throw reader.error(captureNode, "`capture` must be a mapping (NAME: REGEX)") }
        for (key, value) in mapping {
          let name = try reader.string(key, "capture name")
          guard isName(name), name != "value" else { problem(key, "capture name `\(name)` is not lower-case letters, digits and dashes (nor `value`)"); continue }
          let pattern = try reader.string(value, "capture pattern")
          if let error = regexError(pattern, captureGroup: true) { problem(value, "capture `\(name)`: \(error)") }
          captures.append((name, pattern))
        }
      }
      let idempotent = try step["idempotent"].map { try reader.bool($0, "idempotent") } ?? false
      let timeout = try step["timeout"].map { Double(try reader.int($0, "timeout", in: 1...604_800)) }
      let command = Runbook.Command(run: run, expect: expect, captures: captures, idempotent: kindName == "check" || idempotent, timeout: timeout)
      kind = kindName == "command" ? .command(command) : .check(command)
    case "record":
      let prompt = try reader.string(kindNode, "record")
      let pattern = try step["pattern"].map { try reader.string($0, "pattern") }
      if let pattern, let error = regexError(pattern, captureGroup: false) { problem(step["pattern"], "pattern: \(error)") }
      var equals: Runbook.Reference?
      if let node = step["equals"] {
        let text = try reader.string(node, "equals")
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, parts.allSatisfy(isName) { equals = Runbook.Reference(step: parts[0], name: parts[1]) } else { problem(node, "`equals` names STEP.NAME, such as bag-sealed.value") }
      }
      kind = .record(Runbook.Record(prompt: prompt, pattern: pattern, equals: equals))
    default:
      let witness = try reader.mapping(kindNode, "a witness step", keys: ["roles", "people"])
      guard let rolesNode = witness["roles"] else { throw reader.error(kindNode, "witness step `\(id)` names no `roles:`") }
      let roles = try reader.strings(rolesNode, "roles")
      for role in roles where !Roles.isValid(role) || role == "*" { problem(rolesNode, "`\(role)` is not a role (lower-case letters, digits and dashes)") }
      let people = try witness["people"].map { try reader.int($0, "people", in: 1...100) } ?? 1
      kind = .witness(Runbook.Witness(roles: roles, people: people))
    }
    return Runbook.Step(id: id, title: title, text: text, kind: kind, line: node.mark?.line ?? 0)
  }

  /// `equals` and `${...}` name params, or values of earlier steps that record them.
  static func checkReferences(_ runbook: Runbook) -> [RunbookProblem] {
    var problems: [RunbookProblem] = []
    var earlier: [String: [String]] = [:]  // step -> value names
    let params = Set(runbook.params.map(\.name))
    let allSteps = Set(runbook.steps.map(\.id))
    func check(_ reference: String, in step: Runbook.Step, what: String) {
      let parts = reference.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
      guard parts.allSatisfy(isName) else {
        problems.append(RunbookProblem(file: runbook.file, line: step.line, message: "step `\(step.id)`: \(what) ${\(reference)} is not NAME or STEP.NAME"))
        return
      }
      if parts.count == 1 {
        if !params.contains(reference) { problems.append(RunbookProblem(file: runbook.file, line: step.line, message: "step `\(step.id)`: \(what) ${\(reference)} names no param")) }
        return
      }
      let (id, name) = (parts[0], parts[1])
      guard let names = earlier[id] else {
        let why = allSteps.contains(id) ? "a step that comes later" : "no step"
        problems.append(RunbookProblem(file: runbook.file, line: step.line, message: "step `\(step.id)`: \(what) \(reference) names \(why)"))
        return
      }
      if !names.contains(name) {
        problems.append(RunbookProblem(file: runbook.file, line: step.line,
                                       message: "step `\(step.id)`: \(what) \(reference): step `\(id)` records no value `\(name)` (it records: \(names.isEmpty ? "none" : names.joined(separator: ", ")))"))
      }
    }
    for name in Placeholders.names(in: runbook.policy) where !params.contains(name) {
      problems.append(RunbookProblem(file: runbook.file, line: nil, message: "policy: ${\(name)} names no param"))
    }
    for step in runbook.steps {
      for name in Placeholders.names(in: step.text) { check(name, in: step, what: "text") }
      switch step.kind {
      case .command(let c), .check(let c):
        for name in Placeholders.names(in: c.run) { check(name, in: step, what: "command") }
        for name in Placeholders.quotedNames(inCommand: c.run) {
          problems.append(RunbookProblem(file: runbook.file, line: step.line,
                                         message: "step `\(step.id)`: ${\(name)} is inside quotes in the command; it is filled in as a quoted word of its own, so write it outside quotes"))
        }
      case .record(let r):
        for name in Placeholders.names(in: r.prompt) { check(name, in: step, what: "prompt") }
        if let equals = r.equals { check(equals.description, in: step, what: "equals") }
      default: break
      }
      earlier[step.id] = step.valueNames
    }
    return problems
  }

  /// Every witness role is one the policy gives some key, and enough people hold it.
  static func checkRoles(_ runbook: Runbook, params: [String: String]) -> [RunbookProblem] {
    let policyPath: String
    do {
      policyPath = try RunbookContext.policyPath(runbook, params: params)
    } catch {
      return [RunbookProblem(file: runbook.file, line: nil, message: "policy: \((error as? RehostError)?.message ?? "\(error)")")]
    }
    let policy: TrustPolicy
    do {
      policy = try TrustPolicy.load(policyPath)
    } catch {
      return [RunbookProblem(file: runbook.file, line: nil, message: "the policy \(policyPath) cannot be read: \((error as? RehostError)?.message ?? "\(error)")")]
    }
    var problems: [RunbookProblem] = []
    for step in runbook.steps {
      guard case .witness(let witness) = step.kind else { continue }
      let holders = Set(policy.keys.filter { key in witness.roles.contains { key.allows($0) } }.map(\.person))
      for role in witness.roles where !policy.keys.contains(where: { $0.roles.contains(role) }) {
        problems.append(RunbookProblem(file: runbook.file, line: step.line, message: "step `\(step.id)`: the policy \(policyPath) gives no key the role `\(role)`"))
      }
      if holders.count < witness.people {
        problems.append(RunbookProblem(file: runbook.file, line: step.line,
                                       message: "step `\(step.id)` needs \(witness.people) people in \(witness.roles.joined(separator: ", ")); the policy has \(holders.count)"))
      }
    }
    if !policy.keys.contains(where: { $0.allows(RunbookContext.operatorRole) }) {
      problems.append(RunbookProblem(file: runbook.file, line: nil, message: "the policy \(policyPath) gives no key the role `\(RunbookContext.operatorRole)` (who runs the runbook)"))
    }
    return problems
  }

  static func isName(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.count <= 64 && s.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" }
  }

  static func regexError(_ pattern: String, captureGroup: Bool) -> String? {
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return "`\(pattern)` is not a valid regular expression" }
    if captureGroup && regex.numberOfCaptureGroups < 1 { return "`\(pattern)` has no group ( ) to capture" }
    return nil
  }
}
