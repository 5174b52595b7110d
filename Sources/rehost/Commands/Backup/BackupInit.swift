import ArgumentParser
import Foundation
import RehostBackups
import RehostBase
import RehostServices

extension Rehost.Backup {
  struct Init: ParsableCommand, QuietCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a backup repository: who can open its backups, which key seals them.",
      discussion: """
        With --config, everything comes from the config file; otherwise give REPO, the \
        recipients (or custodians) and the host's signing key. Refused when the host's own \
        identity is among the recipients: a thief of the host would read every backup.
        """)

    @Argument(help: ArgumentHelp("The repository directory (new or empty).", valueName: "REPO"))
    var repository: String?

    @Option(name: .long, help: ArgumentHelp("The backup config (docs/BACKUP.md).", valueName: "FILE.yaml"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Encrypt every backup to this public key (repeatable).", valueName: "NAME.pub"))
    var recipient: [String] = []

    @Option(name: .long, help: ArgumentHelp("Split each backup's key so that K of the N --custodian keys are needed.", valueName: "K-of-N"))
    var custodians: String?

    @Option(name: .long, help: ArgumentHelp("A custodian (repeatable, N times).", valueName: "NAME.pub"))
    var custodian: [String] = []

    @Option(name: .long, help: ArgumentHelp("The host's signing key: it seals every backup and signs the chain.", valueName: "HOST.key"))
    var sign: String?

    @OptionGroup var keyPassphrase: KeyPassphraseOptions

    func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
      if config == nil {
        guard repository != nil, sign != nil else { throw ValidationError("give --config FILE, or REPO with --sign HOST.key and --recipient (or --custodians)") }
        guard !recipient.isEmpty || custodians != nil else { throw ValidationError("name who can open the backups: --recipient NAME.pub or --custodians K-of-N") }
      } else if repository != nil || !recipient.isEmpty || custodians != nil || sign != nil {
        throw ValidationError("with --config, the repository, recipients and key come from the config file")
      }
    }

    @OptionGroup var quiet: QuietOption

    func run() throws {
      let repository: Repository
      if let config {
        repository = try BackupInit.run(try BackupConfig.load(config))
      } else {
        let threshold = try custodians.map { try CustodianCount.parse($0, keys: custodian.count) }
        repository = try BackupInit.run(path: self.repository!, recipients: recipient, custodians: threshold.map { ($0, custodian) },
                                        signingKey: sign!, passphrase: try keyPassphrase.passphrase())
      }
      Console.out("created repository \(repository.path) (id \(repository.id)), sealed by \(repository.signer)")
      for r in repository.recipients { Console.out("  recipient \(r)") }
    }
  }
}

/// `K-of-N` for --custodians, checked against the number of keys given.
enum CustodianCount {
  static func parse(_ text: String, keys: Int) throws -> Int {
    let parts = text.split(separator: "-").map(String.init)
    guard parts.count == 3, parts[1] == "of", let k = Int(parts[0]), let n = Int(parts[2]), k >= 1, k <= n else {
      throw ValidationError("--custodians takes K-of-N, such as 2-of-3")
    }
    guard keys == n else { throw ValidationError("--custodians \(text) needs exactly \(n) --custodian keys, not \(keys)") }
    return k
  }
}
