import ArgumentParser
import Foundation
import RehostBase
import RehostRunbooks
import RehostServices

extension Rehost.Runbook {
  struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run a runbook, or continue a run where it stopped.",
      discussion: """
        Every event is signed with --key and appended to DIR/journal.jsonl before the next \
        action. Running again with the same DIR continues at the first unfinished step. On \
        a terminal each step is shown and asked for; --answers FILE answers from a file \
        (docs/RUNBOOK.md). Exit 0 when the runbook is done; 1 when a command or check \
        failed, 7 when a value or a witness is refused; the journal then says where, and \
        running again continues there.
        """)

    @Argument(help: ArgumentHelp("The runbook.", valueName: "FILE.yaml"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("The run's journal directory (created; reused to continue).", valueName: "DIR"))
    var journal: String

    @Option(name: .customLong("as"), help: ArgumentHelp("Your name, as the journal records it.", valueName: "NAME"))
    var name: String

    @Option(name: .long, help: ArgumentHelp("Your identity: it signs every line of the journal.", valueName: "NAME.key"))
    var key: String

    @OptionGroup var keyPassphrase: KeyPassphraseOptions

    @Option(name: .long, help: ArgumentHelp("A param's value (repeatable).", valueName: "NAME=VALUE"))
    var param: [String] = []

    @Option(name: .long, help: ArgumentHelp("Answers for the steps, for a scripted run.", valueName: "FILE.yaml"))
    var answers: String?

    @Option(name: .long, help: ArgumentHelp("Continue although the runbook changed since the run began, for this reason (journalled).", valueName: "REASON"))
    var acceptChangedRunbook: String?

    func run() throws {
      let signer = try Secrets.privateIdentities([key], passphrase: try keyPassphrase.passphrase())[0]
      var options = RunOptions(runbook: file, journal: journal, operatorName: name, signer: signer,
                               workdir: FileManager.default.currentDirectoryPath)
      options.params = try Params.parse(param)
      options.acceptChangedRunbook = acceptChangedRunbook
      let prompter: RunbookPrompter = try answers.map { file in
        try AnswersPrompter(file: file, display: TerminalPrompter.writeLine, output: TerminalPrompter.writeOutput)
      } ?? TerminalPrompter()
      let state = try RunbookRunner(options, prompter: prompter).run()
      TerminalPrompter.writeLine("journal \(journal): \(state.entries.count) lines, verified; the report: rehost runbook report \(journal) --format html --out REPORT.html")
    }
  }
}
