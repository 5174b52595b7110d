import ArgumentParser

extension Rehost {
  struct Runbook: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run a documented procedure (runbooks/*.yaml) step by step, witnessed and journalled.",
      discussion: """
        A runbook is a YAML file of phases and steps: instructions, commands, checks, values \
        to record and witness sign-offs (docs/RUNBOOK.md). `run` executes it, signing every \
        event into an append-only journal; `verify` and `report` are the auditor's.
        """,
      subcommands: [Lint.self, Show.self, Run.self, Status.self, Verify.self, Report.self])
  }
}
