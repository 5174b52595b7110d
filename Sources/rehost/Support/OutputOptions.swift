import ArgumentParser

/// `--json` and `--quiet`, for the commands whose result has a JSON form (docs/JSON.md).
struct OutputOptions: ParsableArguments {
  @Flag(name: .long, help: "Print the result as one JSON object on standard output (docs/JSON.md); no progress.")
  var json = false

  @Flag(name: .long, help: "Print nothing on success (for cron); warnings and errors still go to standard error.")
  var quiet = false

  func validate() throws {
    if json && quiet { throw ValidationError("--json and --quiet exclude each other: --json already prints only the JSON object") }
  }

  func mode(command: String) -> Console.Mode { json ? .json(command: command) : quiet ? .quiet : .text }
}

/// `--quiet` alone, for commands without a JSON form.
struct QuietOption: ParsableArguments {
  @Flag(name: .long, help: "Print nothing on success; warnings and errors still go to standard error.")
  var quiet = false

  var mode: Console.Mode { quiet ? .quiet : .text }
}

/// A command that says how its results are printed; `Rehost.main` sets ``Console/mode``
/// from it before the command runs, and prints a failure as JSON in JSON mode.
protocol OutputModeCommand {
  var outputMode: Console.Mode { get }
}

/// A command whose only output option is `--quiet`.
protocol QuietCommand: OutputModeCommand {
  var quiet: QuietOption { get }
}

extension QuietCommand {
  var outputMode: Console.Mode { quiet.mode }
}
