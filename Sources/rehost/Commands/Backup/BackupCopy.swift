import ArgumentParser
import RehostBackups
import RehostBase

extension Rehost.Backup {
  struct Copy: ParsableCommand, QuietCommand {
    static let configuration = CommandConfiguration(
      abstract: "Copy a repository to an rclone remote: what the remote lacks, each copy checked.",
      discussion: """
        What `backup run` does after each backup for the config's `offsite:` remotes \
        (docs/BACKUP.md, "Offsite copies"): archives and seals oldest first, each checked \
        against its recorded SHA-256, the chain last; pruned backups removed unless the \
        remote's lock keeps them. Exit 9 when a copy fails (the local repository is as it was).
        """)

    @Argument(help: ArgumentHelp("The local repository.", valueName: "REPO"))
    var repository: String

    @Argument(help: ArgumentHelp("The rclone remote, NAME:PATH.", valueName: "REMOTE"))
    var remote: String

    @Option(name: .long, help: ArgumentHelp("The rclone config file (default: rclone's own).", valueName: "FILE"))
    var rcloneConfig: String?

    func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
      if !remote.contains(":") { throw ValidationError("REMOTE is an rclone remote, NAME:PATH") }
    }

    @OptionGroup var quiet: QuietOption

    func run() throws {
      let result = try OffsiteCopy.run(repositoryAt: repository, to: remote, rclone: Rclone(configFile: rcloneConfig))
      for name in result.copied { Console.out("copied \(name)") }
      for name in result.removed { Console.out("removed \(name) (pruned)") }
      for kept in result.kept { Console.out("kept \(kept): pruned here, still locked there") }
      Console.out("\(Rclone.shown(remote)) holds \(repository): \(result.copied.count) files copied")
    }
  }
}
