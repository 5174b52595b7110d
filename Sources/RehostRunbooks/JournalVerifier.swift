import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import RehostStorage

/// What a journal holds, once every line checked out.
public struct JournalState: Sendable {
  public struct Exception: Sendable {
    public let seq: Int
    public let step: String?
    public let kind: String
    public let reason: String
  }

  public let entries: [JournalEntry]
  /// The SHA-256 of the last line (with its newline): the next line's `prev`.
  public let head: String
  /// The runbook the run follows now (its SHA-256; an exception may have changed it).
  public let runbookSHA256: String
  public let title: String
  public let params: [(String, String)]
  public let workdir: String
  /// Values recorded, in order: `STEP.NAME` and the value (a later one replaces an earlier).
  public let values: [(String, String)]
  public let finished: Set<String>
  /// Per witness step: the people who signed, in order (role, fingerprint).
  public let witnesses: [String: [(role: String, key: String, person: String)]]
  public let exceptions: [Exception]
  public let ended: Bool

  public func value(_ reference: String) -> String? { values.last { $0.0 == reference }?.1 }

  /// The `output` line of `step`'s last command, if it is the last thing journalled of it
  /// (the run stopped after the command ended and before the step was finished).
  public func endedCommand(_ step: String) -> JournalEntry? {
    guard let last = entries.last(where: { $0.step == step && ($0.event == .started || $0.event == .output) }) else { return nil }
    return last.event == .output ? last : nil
  }

  /// The `started` line of `step`'s last command if it never reported its output (the
  /// run stopped while the command ran).
  public func interruptedCommand(_ step: String) -> JournalEntry? {
    guard let last = entries.last(where: { $0.step == step && ($0.event == .started || $0.event == .output) }) else { return nil }
    return last.event == .started ? last : nil
  }
}

/// Checks a journal line by line (docs/RUNBOOK.md, "Verifying a journal"): the chain,
/// every signature, who signed against the policy, witnesses' statements, the steps in
/// the runbook's order, times that do not go back, recorded values that must be equal.
/// The first bad line is named: exit 3 for a damaged file, 4 for a broken chain or
/// signature, 7 for a policy or a value not met.
public enum JournalVerifier {
  /// The fields each event may carry (docs/RUNBOOK.md, the events table).
  static let fields: [JournalEntry.Event: Set<String>] = [
    .begin: ["runbook", "title", "file", "policy", "policy_sha256", "workdir", "as", "params"],
    .resumed: ["as", "runbook"],
    .started: ["command"],
    .output: ["status", "timed_out", "output", "output_sha256", "bytes", "values"],
    .confirmed: [],
    .value: ["value", "matches"],
    .witnessed: ["role", "witness", "witness_key", "statement", "witness_sig"],
    .exception: ["kind", "reason", "runbook", "bytes", "sha256"],
    .finished: ["outcome"],
    .end: ["steps"],
  ]

  public static func verify(directory: String, policy: TrustPolicy, runbook: Runbook?) throws -> JournalState {
    let path = directory + "/" + JournalFile.name
    let bytes = try InputFile.read(path, what: "journal", limit: 1 << 30, kind: .usage)
    return try verify(bytes, path: path, policy: policy, runbook: runbook)
  }

  public static func verify(_ bytes: [UInt8], path: String, policy: TrustPolicy, runbook: Runbook?) throws -> JournalState {
    func at(_ line: Int, _ kind: RehostError.Kind, _ why: String) -> RehostError {
      RehostError(kind, "journal \(path):\(line): \(why)",
                  hint: kind == .corrupt ? "the file was damaged; use the copy the auditor sealed"
                    : kind == .policy ? "the journal is genuine but does not meet \(policy.source)" : "the journal was altered after it was written: do not trust it")
    }
    guard !bytes.isEmpty else { throw RehostError(.corrupt, "journal \(path) is empty", hint: "no run was begun in this directory") }
    let (lines, cutShort) = SignedLog.lines(bytes)
    if cutShort { throw at(lines.count, .corrupt, "the last line is incomplete (the file was cut short)") }
    let trusted = Dictionary(policy.keys.map { ($0.key.fingerprint(), $0) }, uniquingKeysWith: { a, _ in a })
    let steps = runbook?.steps ?? []
    let order = Dictionary(steps.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { a, _ in a })

    var entries: [JournalEntry] = []
    var head = ""
    var lastTime = ""
    var runbookSHA = "", title = "", workdir = ""
    var params: [(String, String)] = []
    var values: [(String, String)] = []
    var finished = Set<String>()
    var witnesses: [String: [(role: String, key: String, person: String)]] = [:]
    var exceptions: [JournalState.Exception] = []
    var ended = false
    for (index, raw) in lines.enumerated() {
      let n = index + 1
      let line: SignedLine
      switch SignedLog.check(raw, index: index, head: head, lastTime: lastTime) {
      case .success(let checked): line = checked
      case .failure(let problem): throw at(n, problem.kind, problem.why == "not a line written the canonical way" ? "not a journal line written the canonical way" : problem.why)
      }
      guard let entry = JournalEntry(line), !entry.fields.contains(where: { $0.0 == "step" }) else {
        throw at(n, .corrupt, "not a journal line: an unknown event, or `step` out of place")
      }
      if let unknown = entry.fields.first(where: { !(Self.fields[entry.event] ?? []).contains($0.0) }) {
        throw at(n, .corrupt, "a \(entry.event.rawValue) line has no field `\(unknown.0)` (docs/RUNBOOK.md, the events)")
      }
      guard let signer = trusted[entry.actor], signer.allows(RunbookContext.operatorRole) else {
        throw at(n, .policy, "it is signed by key \(entry.actor.prefix(16))…, which \(policy.source) does not trust as \(RunbookContext.operatorRole)")
      }
      guard !ended else { throw at(n, .seal, "a line after the run's end") }
      if index == 0 {
        guard entry.event == .begin else { throw at(n, .seal, "the first line is not the run's beginning") }
      } else if entry.event == .begin {
        throw at(n, .seal, "a second beginning")
      }

      // A step's events come once every step before it in the runbook is finished.
      if let id = entry.step, runbook != nil {
        guard let position = order[id] else { throw at(n, .seal, "step `\(id)` is not in the runbook") }
        if let missing = steps[..<position].first(where: { !finished.contains($0.id) }) {
          throw at(n, .seal, "step `\(id)` acted on before step `\(missing.id)` was finished (steps go in the runbook's order)")
        }
        guard !finished.contains(id) || entry.event == .exception else { throw at(n, .seal, "step `\(id)` acted on after it was finished") }
      }
      let step = entry.step.flatMap { id in steps.first { $0.id == id } }

      switch entry.event {
      case .begin:
        guard let sha = entry.field("runbook")?.string, let t = entry.field("title")?.string,
              let w = entry.field("workdir")?.string, let p = entry.field("params")?.object else {
          throw at(n, .corrupt, "the beginning lacks runbook, title, workdir or params")
        }
        (runbookSHA, title, workdir, params) = (sha, t, w, p)
      case .exception:
        if entry.field("kind")?.string == "runbook-changed", let sha = entry.field("runbook")?.string { runbookSHA = sha }
        exceptions.append(.init(seq: entry.seq, step: entry.step, kind: entry.field("kind")?.string ?? "",
                                reason: entry.field("reason")?.string ?? ""))
      case .output:
        for (name, value) in entry.field("values")?.object ?? [] { values.append(("\(entry.step ?? "").\(name)", value)) }
      case .value:
        guard let id = entry.step, let value = entry.field("value")?.string else { throw at(n, .corrupt, "a value without its step or value") }
        if case .record(let record)? = step?.kind, let reference = record.equals {
          let expected = values.last { $0.0 == reference.description }?.1
          let matches = expected == value
          guard entry.field("matches")?.bool == matches else {
            throw at(n, .seal, "it says the value \(matches ? "differs from" : "equals") \(reference), which it does not")
          }
        }
        if entry.field("matches")?.bool != false { values.append(("\(id).value", value)) }
      case .witnessed:
        guard let id = entry.step, let role = entry.field("role")?.string, let key = entry.field("witness")?.string,
              let der = entry.field("witness_key")?.string.flatMap(Base64.decode),
              let statement = entry.field("statement")?.string.flatMap(Base64.decode).flatMap({ String(validating: $0, as: UTF8.self) }),
              let signature = entry.field("witness_sig")?.string.flatMap(Base64.decode) else {
          throw at(n, .corrupt, "a witness line lacks role, witness, witness_key, statement or witness_sig")
        }
        let witnessKey = SignedLine.ed25519Key(der: der, fingerprint: key)
        guard let witnessKey else { throw at(n, .seal, "the witness's key is not an Ed25519 key whose fingerprint is \(key.prefix(16))…") }
        let expected = WitnessStatement(runbook: runbookSHA, step: id, journalHead: entry.prev, role: role, key: key,
                                        time: WitnessStatement.time(in: statement) ?? "", values: values)
        guard expected.text == statement else { throw at(n, .seal, "the witness's statement is not about this runbook, step, journal head and values") }
        guard witnessKey.verify(signature: signature, message: Array(statement.utf8)) else {
          throw at(n, .seal, "the witness's signature does not verify")
        }
        guard let holder = trusted[key], holder.allows(role) else {
          throw at(n, .policy, "the witness key \(key.prefix(16))… is not trusted by \(policy.source) as \(role)")
        }
        if case .witness(let witness)? = step?.kind, !witness.roles.contains(role) {
          throw at(n, .policy, "step `\(id)` is witnessed in roles \(witness.roles.joined(separator: ", ")), not \(role)")
        }
        if witnesses[id, default: []].contains(where: { $0.person == holder.person }) {
          throw at(n, .policy, "the same person signs step `\(id)` twice")
        }
        witnesses[id, default: []].append((role, key, holder.person))
      case .finished:
        guard let id = entry.step else { throw at(n, .corrupt, "a finished line without its step") }
        let skipped = exceptions.contains { $0.step == id && $0.kind == "skipped" }
        if case .witness(let witness)? = step?.kind, !skipped, witnesses[id, default: []].count < witness.people {
          throw at(n, .policy, "step `\(id)` finished with \(witnesses[id, default: []].count) of \(witness.people) witnesses")
        }
        if case .record(let record)? = step?.kind, let reference = record.equals, !skipped,
           values.last(where: { $0.0 == "\(id).value" })?.1 != values.last(where: { $0.0 == reference.description })?.1 {
          throw at(n, .policy, "step `\(id)` finished without a value equal to \(reference)")
        }
        finished.insert(id)
      case .end:
        if let missing = steps.first(where: { !finished.contains($0.id) }) { throw at(n, .seal, "the run ends before step `\(missing.id)` is finished") }
        ended = true
      case .resumed, .started, .confirmed:
        break
      }
      entries.append(entry)
      head = SignedLog.hash(raw)
      lastTime = entry.time
    }
    if let runbook, runbookSHA != runbook.sha256 {
      throw RehostError(.seal, "journal \(path) follows another runbook (SHA-256 \(runbookSHA.prefix(16))…), not \(runbook.file) (\(runbook.sha256.prefix(16))…)",
                        hint: "give the runbook the run followed (--runbook FILE), or leave --runbook out")
    }
    return JournalState(entries: entries, head: head, runbookSHA256: runbookSHA, title: title, params: params, workdir: workdir,
                        values: values, finished: finished, witnesses: witnesses, exceptions: exceptions, ended: ended)
  }
}
