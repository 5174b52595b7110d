import ArgumentParser
import RehostRunbooks

extension Rehost.Runbook {
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print a runbook as the paper script for the ceremony: numbered steps with boxes for times and initials.")

    @Argument(help: ArgumentHelp("The runbook.", valueName: "FILE.yaml"))
    var file: String

    @Option(name: .long, help: "md (default) or html (one self-contained page that prints on A4 and Letter).")
    var format: DocumentFormat = .md

    func run() throws {
      print(PaperScript.render(try RunbookReader.load(file, checkingPolicy: false), format: format), terminator: "")
    }
  }
}

extension DocumentFormat: ExpressibleByArgument {}
