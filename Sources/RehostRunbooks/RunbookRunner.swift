import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import RehostStorage

/// Everything a run is given.
public struct RunOptions {
  public var runbook: String
  public var journal: String
  /// The operator's name, as they want it in the journal.
  public var operatorName: String
  /// The operator's key: it signs every line of the journal.
  public var signer: PrivateIdentity
  /// `--param NAME=VALUE`, over the runbook's defaults.
  public var params: [String: String] = [:]
  /// Where commands run and relative paths are taken from (journalled; a resumed run
  /// uses the journalled one).
  public var workdir: String
  /// Continue a run whose runbook has changed since it began, for this reason (journalled).
  public var acceptChangedRunbook: String?

  public init(runbook: String, journal: String, operatorName: String, signer: PrivateIdentity, workdir: String) {
    self.runbook = runbook
    self.journal = journal
    self.operatorName = operatorName
    self.signer = signer
    self.workdir = workdir
  }
}

/// Values and policy a run resolves from a runbook.
public enum RunbookContext {
  /// The role the policy must give the key that runs a runbook (it signs the journal).
  public static let operatorRole = "operator"

  /// The params a run uses: the runbook's defaults, overridden by those given.
  public static func params(_ runbook: Runbook, given: [String: String]) throws -> [(String, String)] {
    for name in given.keys where !runbook.params.contains(where: { $0.name == name }) {
      throw RehostError(.usage, "the runbook has no param `\(name)`", hint: "its params: \(runbook.params.map(\.name).joined(separator: ", "))")
    }
    return try runbook.params.map { param in
      guard let value = given[param.name] ?? param.defaultValue else {
        throw RehostError(.usage, "param `\(param.name)` has no default: give --param \(param.name)=VALUE")
      }
      return (param.name, value)
    }
  }

  /// The policy file a run uses (params filled in; relative to the working directory).
  public static func policyPath(_ runbook: Runbook, params given: [String: String], workdir: String? = nil) throws -> String {
    let values = Dictionary(try params(runbook, given: given), uniquingKeysWith: { a, _ in a })
    let path = try Placeholders.fill(runbook.policy, quote: false) { values[$0] }
    if path.hasPrefix("/") { return path }
    return (workdir ?? FileManager.default.currentDirectoryPath) + "/" + path
  }
}

/// Executes a runbook step by step, journalling every event before the next action, and
/// resumes a run from its journal (docs/RUNBOOK.md, "Running").
public final class RunbookRunner {
  let options: RunOptions
  let prompter: RunbookPrompter
  // What the run holds to (set by run()); the step kinds are in RunbookSteps.swift.
  var journal: JournalFile!
  var signer: AsymmetricKey!
  var policy: TrustPolicy!
  var runbook: Runbook!
  var workdir = ""
  var runbookSHA = ""
  var params: [(String, String)] = []
  // Where the run stands, kept as lines are appended.
  var values: [(String, String)] = []
  var finished = Set<String>()
  var witnessed: [String: [String]] = [:]  // step -> people
  /// Command steps a stopped run left started: the seq of their `started` line.
  var interrupted: [String: Int] = [:]
  /// Command steps whose command a stopped run saw end, and did not finish.
  var ended: [String: JournalEntry] = [:]

  public init(_ options: RunOptions, prompter: RunbookPrompter) {
    self.options = options
    self.prompter = prompter
  }

  /// Runs until the runbook is done (returns the verified journal), or throws where it
  /// stopped: the journal then says where, and running again continues there.
  public func run() throws -> JournalState {
    let directory = options.journal
    if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw SystemError.io("create the journal directory", directory) }
    let lock = try LockFile(path: directory + "/.lock", purpose: "running \(options.runbook) into \(directory)")
    defer { lock.release() }
    let work = Interruption.shared.register()
    defer { Interruption.shared.unregister(work) }

    runbook = try RunbookReader.load(options.runbook, params: options.params, checkingPolicy: false)
    guard let key = options.signer.signing else { throw RehostError(.key, "\(options.signer.path) has no Ed25519 signing key") }
    signer = key
    let existing = try existingJournal(directory)
    if let existing, existing.ended {
      prompter.show("\(existing.title): the run in \(directory) is complete; nothing to do")
      return existing
    }
    workdir = existing?.workdir ?? options.workdir
    if let existing {
      // A resumed run keeps the params it began with.
      for (name, value) in options.params where existing.params.first(where: { $0.0 == name })?.1 != value {
        throw RehostError(.usage, "this run began with \(name)=\(existing.params.first { $0.0 == name }?.1 ?? "its default"); a resumed run keeps its params",
                          hint: "leave --param \(name) out, or begin a new run in another journal directory")
      }
      params = existing.params
    } else {
      params = try RunbookContext.params(runbook, given: options.params)
    }
    policy = try TrustPolicy.load(try RunbookContext.policyPath(runbook, params: Dictionary(params, uniquingKeysWith: { a, _ in a }), workdir: workdir))
    guard policy.keys.contains(where: { $0.key.fingerprint() == key.fingerprint() && $0.allows(RunbookContext.operatorRole) }) else {
      throw RehostError(.policy, "\(options.signer.path) is not trusted by \(policy.source) as \(RunbookContext.operatorRole): it may not run this runbook",
                        hint: "add `trust KEY.pub as operator` to the policy, or run with an operator's key")
    }
    try open(directory, existing: existing)
    do {
      try execute()
    } catch let error as RehostError where error.kind == .interrupted {
      throw RehostError(.interrupted, "\(error.message.components(separatedBy: ";").first ?? error.message); the journal is consistent",
                        hint: "run the same `rehost runbook run` again to continue where it stopped")
    }
    return try JournalVerifier.verify(directory: directory, policy: policy, runbook: runbook)
  }

  /// Reads and verifies an existing journal; a last line cut short by a crash is dropped
  /// (and the fact journalled once the run continues).
  private var droppedTail: [UInt8]?

  private func existingJournal(_ directory: String) throws -> JournalState? {
    let path = directory + "/" + JournalFile.name
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    var bytes = try InputFile.read(path, what: "journal", limit: 1 << 30)
    if bytes.isEmpty { return nil }
    if bytes.last != 0x0a {
      let end = (bytes.lastIndex(of: 0x0a) ?? -1) + 1
      droppedTail = Array(bytes[end...])
      bytes.removeSubrange(end...)
      guard truncate(path, off_t(end)) == 0 else { throw SystemError.io("repair the journal", path) }
      if bytes.isEmpty { return nil }
    }
    // The policy is the one the run began with: its path is in the first line.
    guard let first = bytes.split(separator: 0x0a).first.flatMap({ JournalEntry.parse(Array($0)) }), first.event == .begin,
          let policyPath = first.field("policy")?.string else {
      throw RehostError(.corrupt, "journal \(path):1: not the beginning of a run", hint: "give a journal directory of its own to a new run")
    }
    let policy = try TrustPolicy.load(policyPath)
    let sameRunbook = first.field("runbook")?.string == runbook.sha256
    return try JournalVerifier.verify(bytes, path: path, policy: policy, runbook: sameRunbook ? runbook : nil)
  }

  private func open(_ directory: String, existing: JournalState?) throws {
    journal = try JournalFile(directory: directory, head: existing?.head ?? "", nextSeq: existing?.entries.count ?? 0)
    if let existing {
      values = existing.values
      finished = existing.finished
      witnessed = existing.witnesses.mapValues { $0.map(\.person) }
      for step in runbook.steps where !finished.contains(step.id) {
        interrupted[step.id] = existing.interruptedCommand(step.id)?.seq
        ended[step.id] = existing.endedCommand(step.id)
      }
      runbookSHA = existing.runbookSHA256
      try append(.resumed, fields: [("as", .string(options.operatorName)), ("runbook", .string(runbook.sha256))])
      if let tail = droppedTail {
        try append(.exception, fields: [("kind", .string("partial-line-dropped")), ("bytes", .int(Int64(tail.count))),
                                        ("sha256", .string(Hex.encode(SHA256.hash(tail)))),
                                        ("reason", .string("the journal's last line was cut short (the run died while writing it); dropped"))])
      }
      if runbookSHA != runbook.sha256 {
        guard let reason = options.acceptChangedRunbook else {
          throw RehostError(.refused, "\(options.runbook) has changed since this run began (SHA-256 \(runbook.sha256.prefix(16))…, the journal has \(runbookSHA.prefix(16))…)",
                            hint: "use the runbook the run began with, or continue with --accept-changed-runbook REASON (journalled as an exception)")
        }
        try append(.exception, fields: [("kind", .string("runbook-changed")), ("runbook", .string(runbook.sha256)), ("reason", .string(reason))])
        runbookSHA = runbook.sha256
      }
      prompter.show("Resuming \(runbook.title): \(finished.count) of \(runbook.steps.count) steps done.")
    } else {
      runbookSHA = runbook.sha256
      let policyPath = policy.source
      let policySHA = Hex.encode(SHA256.hash(try InputFile.read(policyPath, what: "policy file", limit: TrustPolicy.maxBytes)))
      try append(.begin, fields: [
        ("runbook", .string(runbook.sha256)), ("title", .string(runbook.title)), ("file", .string(options.runbook)),
        ("policy", .string(policyPath)), ("policy_sha256", .string(policySHA)), ("workdir", .string(workdir)),
        ("as", .string(options.operatorName)), ("params", .object(params)),
      ])
      prompter.show("Beginning \(runbook.title): \(runbook.steps.count) steps in \(runbook.phases.count) phases. Journal: \(options.journal)")
    }
  }

  @discardableResult
  func append(_ event: JournalEntry.Event, step: String? = nil, fields: [(String, JournalValue)] = []) throws -> JournalEntry {
    try journal.append(event, step: step, fields, signer: signer)
  }

  func lookup(_ name: String) -> String? {
    if let param = params.first(where: { $0.0 == name }) { return param.1 }
    return values.last { $0.0 == name }?.1
  }

  private func execute() throws {
    let steps = runbook.steps
    var shownPhase = -1
    for (index, step) in steps.enumerated() where !finished.contains(step.id) {
      try Interruption.shared.check()
      let (phaseIndex, phase) = runbook.phase(of: step.id)!
      let view = StepView(step: step, phase: phase.title, phaseNumber: phaseIndex + 1, phaseCount: runbook.phases.count,
                          number: index + 1, count: steps.count, done: finished.count,
                          text: (try? Placeholders.fill(step.text, quote: false, lookup: lookup)) ?? step.text)
      if phaseIndex != shownPhase {
        prompter.show("\n== Phase \(phaseIndex + 1) of \(runbook.phases.count): \(phase.title)")
        shownPhase = phaseIndex
      }
      let text = view.text.trimmingCharacters(in: .newlines)
      prompter.show("\n-- Step \(index + 1) of \(steps.count) (\(finished.count) done): \(step.title)  [\(step.kindName)]"
                      + (text.isEmpty ? "" : "\n" + text.split(separator: "\n", omittingEmptySubsequences: false).map { "   " + $0 }.joined(separator: "\n")))
      switch step.kind {
      case .instruction: try runInstruction(view)
      case .record(let record): try runRecord(view, record)
      case .command(let command): try runCommand(view, command, check: false)
      case .check(let command): try runCommand(view, command, check: true)
      case .witness(let witness): try runWitness(view, witness)
      }
      finished.insert(step.id)
    }
    try append(.end, fields: [("steps", .int(Int64(steps.count)))])
    prompter.show("\nDone: \(runbook.title), all \(steps.count) steps. Journal: \(options.journal)")
  }

  func finish(_ step: Runbook.Step, skipped reason: String? = nil) throws {
    if let reason { return try finish(step, by: "skipped", reason: reason, outcome: "skipped", saying: "skipped") }
    try append(.finished, step: step.id, fields: [("outcome", .string("done"))])
  }

  /// Finishes `step` by a decision of the operator's: the exception and its reason
  /// journalled, then the step's outcome.
  func finish(_ step: Runbook.Step, by kind: String, reason: String, outcome: String, saying what: String) throws {
    guard !reason.isEmpty else { throw RehostError(.usage, "step `\(step.id)` \(what): that needs a reason") }
    try append(.exception, step: step.id, fields: [("kind", .string(kind)), ("reason", .string(reason))])
    prompter.show("   \(what) (an exception in the journal): \(reason)")
    try append(.finished, step: step.id, fields: [("outcome", .string(outcome))])
  }
}
