import ArgumentParser
import RehostBackups
import RehostBase
import RehostServices
import RehostStorage

extension Rehost.Backup {
  struct Prune: ParsableCommand, QuietCommand {
    static let configuration = CommandConfiguration(
      abstract: "Apply the config's retention: keep what it says, record and remove the rest.",
      discussion: "`backup run` does this after each backup. --dry-run says what would be kept (and why) and removed.")

    @Option(name: .long, help: ArgumentHelp("The backup config (docs/BACKUP.md).", valueName: "FILE.yaml"))
    var config: String

    @Flag(name: .long, help: "Change nothing; say what would be done.")
    var dryRun = false

    @OptionGroup var quiet: QuietOption

    func run() throws {
      let config = try BackupConfig.load(self.config)
      guard !config.retention.isEmpty else {
        throw RehostError(.usage, "\(config.file) has no `retention:`: nothing would be pruned", hint: "add retention rules (docs/BACKUP.md, \"Retention\")")
      }
      let (plan, removed) = try BackupPrune.run(config, dryRun: dryRun)
      for (backup, reasons) in plan.keep { Console.out("keep   \(String(format: "%6d", backup.sequence))  \(backup.created)  \(reasons.joined(separator: ", "))") }
      for backup in plan.remove { Console.out("\(dryRun ? "would remove" : "removed")  \(String(format: "%6d", backup.sequence))  \(backup.created)") }
      for (backup, why) in plan.refused { Console.error("rehost: warning: backup \(backup.sequence) is due for pruning, but \(why): not recorded as pruned") }
      if !dryRun { Console.out("\(removed.count) backups pruned, \(plan.keep.count) kept") }
    }
  }
}
