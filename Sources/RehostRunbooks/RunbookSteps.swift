import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostServices
import RehostStorage

/// The five kinds of step, as a run executes them: each journals what happened before
/// the next action, and finishes its step (or throws where the run stops).
extension RunbookRunner {
  func runInstruction(_ view: StepView) throws {
    switch try prompter.confirm(view) {
    case .answer:
      try append(.confirmed, step: view.step.id)
      try finish(view.step)
    case .skip(let reason): try finish(view.step, skipped: reason)
    }
  }

  func runRecord(_ view: StepView, _ record: Runbook.Record) throws {
    let prompt = (try? Placeholders.fill(record.prompt, quote: false, lookup: lookup)) ?? record.prompt
    var problem: String?
    while true {
      switch try prompter.value(view, prompt: prompt, problem: problem) {
      case .skip(let reason): return try finish(view.step, skipped: reason)
      case .answer(let value):
        if value.isEmpty || value.contains("\n") { problem = "a value is one line of text"; continue }
        if let pattern = record.pattern, !Self.matches(value, whole: pattern) { problem = "`\(value)` does not match \(pattern)"; continue }
        var fields: [(String, JournalValue)] = [("value", .string(value))]
        if let reference = record.equals {
          let expected = lookup(reference.description)
          fields.append(("matches", .bool(value == expected)))
          guard value == expected else {
            try append(.value, step: view.step.id, fields: fields)
            throw RehostError(.policy, "step `\(view.step.id)`: \(value) differs from \(reference), recorded as \(expected ?? "nothing")",
                              hint: "stop and investigate before going on (the mismatch is in the journal); run again to record the value anew")
          }
        }
        try append(.value, step: view.step.id, fields: fields)
        values.append(("\(view.step.id).value", value))
        prompter.show("   recorded: \(value)" + (record.equals.map { " (equals \($0))" } ?? ""))
        return try finish(view.step)
      }
    }
  }

  func runCommand(_ view: StepView, _ command: Runbook.Command, check: Bool) throws {
    let step = view.step
    // A command that succeeded before the run stopped is not run again: its output is journalled.
    if let output = ended[step.id], output.field("status")?.int == Int64(command.expect), output.field("timed_out") == nil,
       Set(command.captures.map(\.name)).isSubset(of: Set((output.field("values")?.object ?? []).map(\.0))) {
      prompter.show("   its command ended with \(command.expect) before the run stopped (journal line \(output.seq + 1)): done")
      return try finish(step)
    }
    if let seq = interrupted[step.id] {
      try CommandStep.refuseIfStillRunning(pidFile: options.journal + "/" + Self.outputName(seq, step.id) + ".pid", step: step.id)
    }
    if interrupted[step.id] != nil && !command.idempotent {
      switch try prompter.interruptedCommand(view) {
      case .retry:
        try append(.exception, step: step.id, fields: [("kind", .string("rerun-after-interruption")),
                                                        ("reason", .string("\(options.operatorName) chose to run the interrupted command again"))])
      case .accept(let reason):
        return try finish(step, by: "marked-done", reason: reason, outcome: "done", saying: "marked done without running it again")
      case .skip(let reason): return try finish(step, skipped: reason)
      }
    }
    var text = try Placeholders.fill(command.run, quote: true, lookup: lookup)
    prompter.show("$ \(text)")
    if interrupted[step.id] == nil, case .skip(let reason) = try prompter.run(view, command: text) {
      return try finish(step, skipped: reason)
    }
    var again = false
    while true {
      if again {
        text = try Placeholders.fill(command.run, quote: true, lookup: lookup)
        prompter.show("$ \(text)")
      }
      again = true
      let started = try append(.started, step: step.id, fields: [("command", .string(text))])
      let outputName = Self.outputName(started.seq, step.id)
      mkdir(options.journal + "/output", 0o700)
      let outcome = try CommandStep(
        command: text, workdir: workdir, outputPath: options.journal + "/" + outputName, timeout: command.timeout,
        captures: command.captures, environment: ["REHOST_RUNBOOK_STEP": step.id, "REHOST_RUNBOOK_JOURNAL": options.journal],
        binDirectory: options.journal + "/.bin"
      ).run(show: prompter.output)
      var fields: [(String, JournalValue)] = [("status", .int(Int64(outcome.status)))]
      if outcome.timedOut { fields.append(("timed_out", .bool(true))) }
      fields += [("output", .string(outputName)), ("output_sha256", .string(outcome.outputSHA256)), ("bytes", .int(outcome.bytes)),
                 ("values", .object(outcome.captured))]
      try append(.output, step: step.id, fields: fields)
      values += outcome.captured.map { ("\(step.id).\($0.0)", $0.1) }
      let why = outcome.timedOut ? "ran out of its \(Int(command.timeout ?? 0)) s"
        : outcome.status != command.expect ? "exited with \(outcome.status), not \(command.expect)"
        : outcome.missing.isEmpty ? nil : "did not print what \(outcome.missing.joined(separator: ", ")) captures"
      guard let why else { return try finish(step) }
      guard check else {
        throw RehostError(.failure, "step `\(step.id)` failed: the command \(why) (output: \(options.journal)/\(outputName))",
                          hint: "fix the cause and run the same command again: the run continues with this step")
      }
      prompter.show("!! check `\(step.id)` failed: the command \(why)")
      switch try prompter.failedCheck(view, status: outcome.status) {
      case .retry: continue
      case .accept(let reason):
        return try finish(step, by: "check-failed-accepted", reason: reason, outcome: "accepted", saying: "failure accepted")
      case .skip(let reason): return try finish(step, skipped: reason)
      }
    }
  }

  func runWitness(_ view: StepView, _ witness: Runbook.Witness) throws {
    let step = view.step
    var problem: String?
    while witnessed[step.id, default: []].count < witness.people {
      switch try prompter.witness(view, number: witnessed[step.id, default: []].count + 1, of: witness.people, problem: problem) {
      case .skip(let reason): return try finish(step, skipped: reason)
      case .answer(let answer):
        let key: AsymmetricKey
        do {
          let passphrase: [UInt8]? = try KeyFiles.isEncrypted(answer.path)
            ? try answer.passphraseFile.map { try Self.passphrase(file: $0) } ?? prompter.passphrase(for: answer) : nil
          guard let signing = try KeyFiles.readPrivate(answer.path, passphrase: passphrase).signing else {
            problem = "\(answer.path) has no Ed25519 signing key"
            continue
          }
          key = signing
        } catch let error as RehostError where error.kind == .key || error.kind == .usage {
          problem = error.message
          continue
        }
        guard let trusted = policy.keys.first(where: { $0.key.fingerprint() == key.fingerprint() }),
              let role = witness.roles.first(where: trusted.allows) else {
          problem = "the key \(answer.path) (\(key.fingerprint().prefix(16))…) is not trusted by \(policy.source) as \(witness.roles.joined(separator: " or "))"
          continue
        }
        guard !witnessed[step.id, default: []].contains(trusted.person) else {
          problem = "\(trusted.path) has already signed this step: each witness is another person"
          continue
        }
        let statement = WitnessStatement(runbook: runbookSHA, step: step.id, journalHead: journal.head, role: role,
                                         key: key.fingerprint(), time: Timestamp.now(), values: values)
        let signature = try key.sign(Array(statement.text.utf8))
        try append(.witnessed, step: step.id, fields: [
          ("role", .string(role)), ("witness", .string(key.fingerprint())), ("witness_key", .string(Base64.encode(key.publicKeyDER()))),
          ("statement", .string(Base64.encode(Array(statement.text.utf8)))), ("witness_sig", .string(Base64.encode(signature))),
        ])
        witnessed[step.id, default: []].append(trusted.person)
        prompter.show("   witnessed by \(trusted.path) as \(role)")
        problem = nil
      }
    }
    try finish(step)
  }

  static func outputName(_ seq: Int, _ step: String) -> String { "output/\(seq)-\(step).log" }

  static func matches(_ value: String, whole pattern: String) -> Bool {
    guard let regex = try? NSRegularExpression(pattern: "^(?:" + pattern + ")$") else { return false }
    return regex.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
  }

  static func passphrase(file: String) throws -> [UInt8] { try KeyFiles.passphrase(file: file) }
}
