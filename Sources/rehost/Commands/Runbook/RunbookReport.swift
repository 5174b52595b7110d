import ArgumentParser
import Foundation
import RehostRunbooks
import RehostStorage

extension Rehost.Runbook {
  struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "The auditor's report of a run, from its verified journal (Markdown, or one self-contained HTML page).")

    @Argument(help: ArgumentHelp("The run's journal directory.", valueName: "DIR"))
    var journal: String

    @Option(name: .long, help: "md (default) or html.")
    var format: DocumentFormat = .md

    @Option(name: .long, help: ArgumentHelp("Write the report here (default: standard output).", valueName: "FILE"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("The trust policy (default: the one the journal names).", valueName: "FILE"))
    var policy: String?

    @Option(name: .long, help: ArgumentHelp("The runbook (default: the one the journal names, if unchanged).", valueName: "FILE.yaml"))
    var runbook: String?

    func run() throws {
      let (state, book, policy) = try JournalOpening.open(journal, policy: self.policy, runbook: runbook)
      let text = RunReport.render(state, runbook: book, directory: journal, policy: policy, format: format)
      if let out {
        try writeFileAtomically(text, to: out, mode: 0o644, replace: true)
        print("wrote \(out)")
      } else {
        print(text, terminator: "")
      }
    }
  }
}
