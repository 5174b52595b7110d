import Foundation
import RehostBase
import RehostServices
import RehostStorage
import Yams

/// Where a step stands, for whoever answers for it.
public struct StepView: Sendable {
  public let step: Runbook.Step
  public let phase: String
  public let phaseNumber: Int
  public let phaseCount: Int
  public let number: Int
  public let count: Int
  public let done: Int
  /// The step's text with `${...}` filled in.
  public let text: String
}

/// An answer a person gives, or the decision to skip the step (with the reason, which
/// is journalled as an exception).
public enum Answer<T: Sendable>: Sendable {
  case answer(T)
  case skip(reason: String)
}

/// What to do with a command that a stopped run left started but unfinished, or with
/// a check that failed.
public enum Decision: Sendable {
  case retry
  /// Record the step as done without running it again, or accept the failed check.
  case accept(reason: String)
  case skip(reason: String)
}

/// A witness's key, and how to unlock it.
public struct WitnessKey: Sendable {
  public let path: String
  public let passphraseFile: String?
  public init(path: String, passphraseFile: String?) {
    self.path = path
    self.passphraseFile = passphraseFile
  }
}

/// The people at the console: a terminal (the CLI's), or an answers file.
public protocol RunbookPrompter: AnyObject {
  /// Progress and step texts.
  func show(_ text: String)
  /// A command's output, as it comes.
  func output(_ bytes: UnsafeRawBufferPointer)
  func confirm(_ view: StepView) throws -> Answer<Bool>
  /// Before a command or check runs: go ahead, or skip it with a reason.
  func run(_ view: StepView, command: String) throws -> Answer<Bool>
  func value(_ view: StepView, prompt: String, problem: String?) throws -> Answer<String>
  func witness(_ view: StepView, number: Int, of needed: Int, problem: String?) throws -> Answer<WitnessKey>
  /// The passphrase of an encrypted witness key.
  func passphrase(for key: WitnessKey) throws -> [UInt8]
  func interruptedCommand(_ view: StepView) throws -> Decision
  func failedCheck(_ view: StepView, status: Int32) throws -> Decision
}

/// Answers read from a YAML file (`--answers FILE`), for rehearsals and tests:
///
/// ```yaml
/// announce: yes                         # an instruction done
/// bag-sealed: BAG-0042                  # a value
/// seal-witnessed:                       # witnesses' keys, in turn
///   - key: auditor.key
///     passphrase-file: auditor.pass
///   - isp.key
/// final-backup: {interrupted: retry}    # a command a stopped run left unfinished: retry, done or skip
/// tls-check: {failed: accept, reason: "replaced before go-live"}
/// drill: {skip: "no spare disk today"}  # any step, with the reason (a command: instead of running it)
/// ```
/// Paths are relative to the answers file. A step with no answer stops the run, naming it.
public final class AnswersPrompter: RunbookPrompter {
  let file: String
  let base: URL
  let answers: [String: Node]
  let display: (String) -> Void
  let live: (UnsafeRawBufferPointer) -> Void

  public init(file: String, display: @escaping (String) -> Void, output: @escaping (UnsafeRawBufferPointer) -> Void) throws {
    self.file = file
    base = URL(fileURLWithPath: file).deletingLastPathComponent()
    self.display = display
    live = output
    let reader = YAMLReader(file: file, label: "answers \(file)", help: "see docs/RUNBOOK.md, \"Answers files\"")
    guard let text = String(validating: try InputFile.read(file, what: "answers file", limit: 1 << 20), as: UTF8.self) else {
      throw RehostError(.usage, "the answers file \(file) is not UTF-8 text")
    }
    let root = try reader.root(text)
    guard let mapping = root.mapping else { throw reader.error(root, "the answers file must be a mapping (step id: answer)") }
    var answers: [String: Node] = [:]
    for (key, value) in mapping {
      guard let id = key.string else { throw reader.error(key, "a step id is text") }
      guard answers.updateValue(value, forKey: id) == nil else { throw reader.error(key, "step `\(id)` is answered twice") }
    }
    self.answers = answers
  }

  public func show(_ text: String) { display(text) }
  public func output(_ bytes: UnsafeRawBufferPointer) { live(bytes) }

  private func answer(_ view: StepView) throws -> Node {
    guard let node = answers[view.step.id] else {
      throw RehostError(.usage, "the answers file \(file) has no answer for step `\(view.step.id)` (\(view.step.kindName): \(view.step.title))",
                        hint: "add `\(view.step.id): ...` to it (docs/RUNBOOK.md, \"Answers files\"), or run on a terminal")
    }
    return node
  }

  private func skip(_ node: Node) -> String? { node.mapping?["skip"]?.string }

  private func path(_ text: String) -> String { text.hasPrefix("/") ? text : base.appendingPathComponent(text).path }

  public func confirm(_ view: StepView) throws -> Answer<Bool> {
    let node = try answer(view)
    if let reason = skip(node) { return .skip(reason: reason) }
    guard node.bool == true || node.string == "done" else {
      throw RehostError(.usage, "the answer for `\(view.step.id)` in \(file) is not yes, done or {skip: REASON}")
    }
    return .answer(true)
  }

  /// A command runs unless its answer is `{skip: REASON}` (or an `interrupted` or `failed` decision alone).
  public func run(_ view: StepView, command: String) throws -> Answer<Bool> {
    if let node = answers[view.step.id], let reason = skip(node) { return .skip(reason: reason) }
    return .answer(true)
  }

  public func value(_ view: StepView, prompt: String, problem: String?) throws -> Answer<String> {
    if let problem { throw RehostError(.usage, "the answer for `\(view.step.id)` in \(file) is refused: \(problem)") }
    let node = try answer(view)
    if let reason = skip(node) { return .skip(reason: reason) }
    guard case .scalar = node, let value = node.string else { throw RehostError(.usage, "the answer for `\(view.step.id)` in \(file) is not a value") }
    return .answer(value)
  }

  public func witness(_ view: StepView, number: Int, of needed: Int, problem: String?) throws -> Answer<WitnessKey> {
    if let problem { throw RehostError(.policy, "step `\(view.step.id)`: \(problem)", hint: "correct the witnesses for `\(view.step.id)` in \(file)") }
    let node = try answer(view)
    if let reason = skip(node) { return .skip(reason: reason) }
    // The list is in signing order; a resumed run asks from the first witness still due.
    let list = node.sequence.map(Array.init) ?? [node]
    guard number <= list.count else {
      throw RehostError(.usage, "step `\(view.step.id)` needs \(needed) witnesses; the answers file \(file) gives \(list.count)")
    }
    let item = list[number - 1]
    if let key = item.string, case .scalar = item { return .answer(WitnessKey(path: path(key), passphraseFile: nil)) }
    guard let key = item.mapping?["key"]?.string else {
      throw RehostError(.usage, "a witness answer for `\(view.step.id)` in \(file) is a key path or {key: PATH, passphrase-file: PATH}")
    }
    return .answer(WitnessKey(path: path(key), passphraseFile: item.mapping?["passphrase-file"]?.string.map(path)))
  }

  public func passphrase(for key: WitnessKey) throws -> [UInt8] {
    throw RehostError(.key, "the witness key \(key.path) is encrypted and the answers file gives no passphrase-file for it")
  }

  private func decision(_ view: StepView, _ key: String) throws -> Decision {
    guard let node = answers[view.step.id]?.mapping?[key]?.string else {
      throw RehostError(.failure, "step `\(view.step.id)` \(key == "interrupted" ? "was started by a run that stopped, and is not idempotent" : "failed")",
                        hint: "decide in the answers file: `\(view.step.id): {\(key): \(key == "interrupted" ? "retry|done|skip" : "retry|accept"), reason: ...}`, or run on a terminal")
    }
    let reason = answers[view.step.id]?.mapping?["reason"]?.string ?? ""
    switch node {
    case "retry": return .retry
    case "done", "accept": return .accept(reason: reason)
    case "skip": return .skip(reason: reason)
    default: throw RehostError(.usage, "`\(key): \(node)` for `\(view.step.id)` in \(file): say retry, \(key == "interrupted" ? "done or skip" : "or accept")")
    }
  }

  public func interruptedCommand(_ view: StepView) throws -> Decision { try decision(view, "interrupted") }
  public func failedCheck(_ view: StepView, status: Int32) throws -> Decision {
    let d = try decision(view, "failed")
    // A retry from a file would fail the same way again and again.
    if case .retry = d { throw RehostError(.failure, "check `\(view.step.id)` failed (exit \(status)); the answers file says retry, which would fail again") }
    return d
  }
}
