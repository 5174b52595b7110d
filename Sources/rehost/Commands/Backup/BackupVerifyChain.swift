import ArgumentParser
import Foundation
import RehostBackups
import RehostBase
import RehostServices

extension Rehost.Backup {
  struct VerifyChain: ParsableCommand, QuietCommand {
    static let configuration = CommandConfiguration(
      commandName: "verify-chain",
      abstract: "Audit a repository with no decryption key: the chain, every seal, every archive.",
      discussion: """
        Reports by sequence number a backup deleted, replaced (even by a valid one of another \
        repository), reordered or planted, and a prune the recorded retention does not allow. \
        --state FILE remembers the chain, so a later run tells a rollback or a rewritten \
        history. Exit 0 intact, 3 or 4 the chain damaged or broken, 7 intact but the newest \
        backup older than --max-age.
        """)

    @Argument(help: ArgumentHelp("The repository: a directory, or rclone:REMOTE for an offsite copy.", valueName: "REPO"))
    var repository: String

    @Option(name: .long, help: ArgumentHelp("The rclone config file, for rclone:REMOTE (default: rclone's own).", valueName: "FILE"))
    var rcloneConfig: String?

    var files: any RepositoryFiles { Repository.files(repository, rcloneConfig: rcloneConfig) }

    @Option(name: .long, help: ArgumentHelp("The host's public key (compared out of band).", valueName: "HOST.pub"))
    var trust: String

    @Option(name: .long, help: ArgumentHelp("Remember the chain here; compare with what it remembers.", valueName: "FILE"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp("Fail when the newest backup is older than this (such as 26h or 2d).", valueName: "AGE"))
    var maxAge: String?

    @Flag(name: .long, help: "Also deep-verify backups (needs --identity).")
    var deep = false

    @Option(name: .long, help: ArgumentHelp("A recipient's key, for --deep (repeatable).", valueName: "NAME.key"))
    var identity: [String] = []

    @OptionGroup var keyPassphrase: KeyPassphraseOptions

    @Option(name: .long, help: ArgumentHelp("Deep-verify only this share of the backups, at random (such as 10%).", valueName: "N%"))
    var sample: String?

    func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
      if deep && identity.isEmpty { throw ValidationError("--deep needs --identity KEY") }
      if !deep && (!identity.isEmpty || sample != nil) { throw ValidationError("--identity and --sample go with --deep") }
      if let maxAge, Self.seconds(maxAge) == nil { throw ValidationError("--max-age takes hours or days, such as 26h, 2d or 1d12h") }
      if let sample, Self.percent(sample) == nil { throw ValidationError("--sample takes a percentage, such as 10%") }
    }

    static func seconds(_ text: String) -> Double? {
      guard let within = Retention.Within(text), within.years == 0, within.months == 0 else { return nil }
      return Double(within.days * 86_400 + within.hours * 3_600)
    }

    static func percent(_ text: String) -> Double? {
      guard text.hasSuffix("%"), let n = Double(text.dropLast()), n > 0, n <= 100 else { return nil }
      return n
    }

    @OptionGroup var quiet: QuietOption

    func run() throws {
      guard let key = try KeyFiles.readPublic(trust).signing else { throw RehostError(.usage, "\(trust) has no Ed25519 signing key") }
      var options = ChainAuditOptions(repository: files, trusted: key)
      options.statePath = state
      options.maxAge = maxAge.flatMap(Self.seconds)
      if deep {
        options.identities = try Secrets.decryptionIdentities(keys: identity, keyPassphrase: try keyPassphrase.passphrase(), archivePassphrase: nil)
        options.samplePercent = sample.flatMap(Self.percent) ?? 100
      }
      let audit = try ChainAudit.run(options)
      for r in audit.rows {
        Console.out("\(String(format: "%6d", r.sequence))  \(r.created)  \(r.archive)  \(r.status)")
      }
      for note in audit.notes { Console.out("note: \(note)") }
      if !audit.problems.isEmpty {
        let hint = "do not rely on this repository's history until each is explained"
        if audit.problems.count == 1 { throw RehostError(.seal, audit.problems[0], hint: hint) }
        for problem in audit.problems { Console.error("rehost: \(problem)") }
        throw RehostError(.seal, "the chain of \(repository) is broken: \(audit.problems.count) problems (above)", hint: hint)
      }
      if let stale = audit.stale { throw RehostError(.policy, stale, hint: "check the backup job (its metrics file, cron's mail, journalctl)") }
      Console.out("chain of \(repository) intact: \(audit.rows.count) backups recorded, \(audit.rows.filter { $0.status.hasPrefix("ok") }.count) present and verified"
            + (audit.deepVerified.isEmpty ? "" : ", \(audit.deepVerified.count) deep-verified") + (state.map { "; state saved in \($0)" } ?? ""))
    }
  }
}
