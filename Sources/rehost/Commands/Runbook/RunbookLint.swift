import ArgumentParser
import RehostBase
import RehostRunbooks

extension Rehost.Runbook {
  struct Lint: ParsableCommand, QuietCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check a runbook: schema, ids, references, and the roles its policy gives.",
      discussion: "Prints every problem with its file and line; exit 2 when there is one.")

    @Argument(help: ArgumentHelp("The runbook.", valueName: "FILE.yaml"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("A param's value, for finding the policy (repeatable).", valueName: "NAME=VALUE"))
    var param: [String] = []

    @OptionGroup var quiet: QuietOption

    func run() throws {
      let (runbook, problems) = try RunbookReader.lint(file, params: try Params.parse(param))
      guard problems.isEmpty, let runbook else { throw RunbookReader.failure(problems) }
      Console.out("\(file): OK, \(runbook.steps.count) steps in \(runbook.phases.count) phases (SHA-256 \(runbook.sha256))")
    }
  }
}

/// `--param NAME=VALUE` options.
enum Params {
  static func parse(_ given: [String]) throws -> [String: String] {
    var out: [String: String] = [:]
    for item in given {
      guard let eq = item.firstIndex(of: "="), eq != item.startIndex else { throw ValidationError("--param takes NAME=VALUE, not '\(item)'") }
      out[String(item[..<eq])] = String(item[item.index(after: eq)...])
    }
    return out
  }
}
