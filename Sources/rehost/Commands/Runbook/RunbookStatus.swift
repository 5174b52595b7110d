import ArgumentParser
import RehostRunbooks

extension Rehost.Runbook {
  struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Where a run stands: progress, values recorded, exceptions, what is next.")

    @Argument(help: ArgumentHelp("The run's journal directory.", valueName: "DIR"))
    var journal: String

    @Option(name: .long, help: ArgumentHelp("The runbook (default: the one the journal names).", valueName: "FILE.yaml"))
    var runbook: String?

    func run() throws {
      let (state, book, _) = try JournalOpening.open(journal, policy: nil, runbook: runbook)
      let steps = book?.steps ?? []
      print("\(state.title): \(state.finished.count) of \(steps.isEmpty ? "?" : String(steps.count)) steps done\(state.ended ? ", the run is complete" : "")")
      print("journal \(journal): \(state.entries.count) lines, verified; last \(state.entries.last!.time) (\(state.entries.last!.event.rawValue))")
      for (name, value) in state.values { print("  value \(name) = \(value)") }
      for e in state.exceptions { print("  exception at line \(e.seq + 1)\(e.step.map { " (step \($0))" } ?? ""): \(e.kind): \(e.reason)") }
      if let next = steps.first(where: { !state.finished.contains($0.id) }) {
        print("next: step \(next.id), \(next.title) [\(next.kindName)]\((state.interruptedCommand(next.id) != nil ? " (its command was started by a run that stopped)" : ""))")
      }
    }
  }
}
