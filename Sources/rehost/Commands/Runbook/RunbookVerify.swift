import ArgumentParser
import RehostRunbooks

extension Rehost.Runbook {
  struct Verify: ParsableCommand, QuietCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check a run's journal: chain, signatures, roles, order, times, values. Needs no secret.",
      discussion: "Names the first bad line: exit 3 for a damaged file, 4 for a broken chain or signature, 7 for a policy or a value not met.")

    @Argument(help: ArgumentHelp("The run's journal directory.", valueName: "DIR"))
    var journal: String

    @Option(name: .long, help: ArgumentHelp("The trust policy to hold the journal to (default: the one it names).", valueName: "FILE"))
    var policy: String?

    @Option(name: .long, help: ArgumentHelp("The runbook, to check the steps' order and values (default: the one the journal names, if unchanged).", valueName: "FILE.yaml"))
    var runbook: String?

    @OptionGroup var quiet: QuietOption

    func run() throws {
      let (state, book, policy) = try JournalOpening.open(journal, policy: self.policy, runbook: runbook)
      Console.out("journal \(journal): \(state.entries.count) lines: chain and every signature intact; signers and witnesses trusted by \(policy.source)")
      if let note = JournalOpening.policyNote(state, policy) { Console.out("  \(note)") }
      Console.out("  runbook \(book.map { "\($0.file): steps in order, values that must be equal are" } ?? "not given: order and values not checked"); \(state.finished.count) steps finished, \(state.exceptions.count) exceptions\(state.ended ? "; the run is complete" : "; the run is not complete")")
    }
  }
}
