import ArgumentParser
import RehostBackups
import RehostBase
import RehostServices

extension Rehost.Backup {
  struct Restore: ParsableCommand, QuietCommand {
    static let configuration = CommandConfiguration(
      abstract: "Restore one backup of a repository (a directory or rclone:REMOTE) into DIR.",
      discussion: """
        The backup must be one the chain records, with the recorded seal, sealed by the \
        --trust key; then it is restored as `rehost restore` does (staging, every entry \
        checked, moved into place when whole). From a remote, the one archive is fetched \
        into a scratch directory ($TMPDIR) first, and removed after.
        """)

    @Argument(help: ArgumentHelp("The repository: a directory, or rclone:REMOTE.", valueName: "REPO"))
    var repository: String

    @Option(name: .long, help: ArgumentHelp("The backup's sequence number (see `backup list`).", valueName: "N"))
    var sequence: Int?

    @Flag(name: .long, help: "The newest backup.")
    var latest = false

    @Option(name: .long, help: ArgumentHelp("The directory to restore into (created; must be empty unless --force).", valueName: "DIR"))
    var to: String

    @Option(name: .long, help: ArgumentHelp("The host's public key, which seals the backups.", valueName: "HOST.pub"))
    var trust: String

    @OptionGroup(title: "Keys") var keys: DecryptionOptions

    @Option(name: .long, help: ArgumentHelp("The rclone config file, for rclone:REMOTE (default: rclone's own).", valueName: "FILE"))
    var rcloneConfig: String?

    @Flag(name: .long, help: "Replace a non-empty DIR (swapped atomically once the new tree checked out).")
    var force = false

    func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
      if (sequence == nil) == !latest { throw ValidationError("give --sequence N or --latest") }
      if !keys.given { throw ValidationError("give --identity NAME.key (a recipient's) to decrypt") }
    }

    @OptionGroup var quiet: QuietOption

    func run() throws {
      guard let key = try KeyFiles.readPublic(trust).signing else { throw RehostError(.usage, "\(trust) has no Ed25519 signing key") }
      let identities = try keys.identities()
      let located = try BackupRestore.locate(Repository.files(repository, rcloneConfig: rcloneConfig), sequence: sequence, trusted: key)
      defer { located.removeScratch() }
      var options = RestoreOptions(archive: located.archive, target: to, policy: located.policy, identities: identities)
      options.shareFiles = keys.share
      options.force = force
      let progress = TerminalProgress(verb: "restore")
      let report = try RehostServices.Restore.run(options, progress: progress)
      progress?.done()
      for note in report.notes { Console.out("note: \(note)") }
      for problem in report.problems { Console.error("rehost: warning: \(problem)") }
      let t = report.restored
      Console.out("restored backup \(located.backup.sequence) (\(located.backup.archive)): \(t.entries) entries (\(t.files) files, \(Console.bytes(t.bytes))) into \(to)")
      Console.out("checked: the chain's record, the seal, every chunk, every entry, archive SHA-256 \(report.facts.archiveSHA256)")
    }
  }
}
