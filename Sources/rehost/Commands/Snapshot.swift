import ArgumentParser
import Foundation
import RehostBase
import RehostDatabases
import RehostServices

extension Rehost {
  struct Snapshot: ParsableCommand, OutputModeCommand {
    static let configuration = CommandConfiguration(
      abstract: "Capture directory trees and databases into an encrypted archive and sign its seal.",
      discussion: """
        Writes FILE.rehost and FILE.rehost.seal. Both appear only when complete.
        A source is a directory (or file), or a database: [NAME=]sqlite:PATH, \
        [NAME=]postgres:CONNINFO or [NAME=]mysql:"OPTIONS DATABASE", each taken in one \
        consistent snapshot while it keeps serving.
        """)

    @Argument(help: ArgumentHelp("Directories, files or databases to capture.", valueName: "SOURCE"))
    var paths: [String] = []

    @Option(name: .long, help: ArgumentHelp("Snapshot what this inventory lists (checked before anything is written).", valueName: "FILE.yaml"))
    var inventory: String?

    @Option(name: .long, help: ArgumentHelp("Base directory for the inventory's relative paths (default: the inventory's directory).", valueName: "DIR"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("The archive to write.", valueName: "FILE.rehost"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Encrypt to this identity (repeatable).", valueName: "NAME.pub"))
    var recipient: [String] = []

    @OptionGroup(title: "Archive passphrase (also encrypt to it)") var archivePassphrase: ArchivePassphraseOptions

    @Option(name: .long, help: ArgumentHelp("Split the key so that K of the N --custodian identities are needed to open.", valueName: "K-of-N"))
    var custodians: String?

    @Option(name: .long, help: ArgumentHelp("A custodian of a --custodians K-of-N archive (repeatable, N times).", valueName: "NAME.pub"))
    var custodian: [String] = []

    @Option(name: .long, help: ArgumentHelp("Sign the seal with this identity.", valueName: "NAME.key"))
    var sign: String

    @OptionGroup var keyPassphrase: KeyPassphraseOptions

    @Option(name: .long, help: "A label recorded in the manifest and the seal.")
    var label = ""

    @Option(name: .long, help: ArgumentHelp("Leave out paths matching this glob (repeatable).", valueName: "GLOB"))
    var exclude: [String] = []

    @Flag(name: .long, help: "With each PostgreSQL or MariaDB database SOURCE, also take its server's roles (users) and grants; restored before the database.")
    var roles = false

    @Option(name: .long, help: ArgumentHelp("Plaintext bytes per encrypted chunk (4096 to 16777216, a power of two).", visibility: .hidden))
    var chunkSize = 65536

    @Option(name: .long, help: ArgumentHelp("scrypt work factor log2(N) for --passphrase-file.", visibility: .hidden))
    var scryptLogN = 18

    @OptionGroup var output: OutputOptions
    var outputMode: Console.Mode { output.mode(command: "snapshot") }

    /// K from "K-of-N", checked against the --custodian count.
    private func threshold() throws -> Int? {
      guard let custodians else {
        if !custodian.isEmpty { throw ValidationError("--custodian needs --custodians K-of-N") }
        return nil
      }
      let parts = custodians.split(separator: "-").map(String.init)
      guard parts.count == 3, parts[1] == "of", let k = Int(parts[0]), let n = Int(parts[2]), k >= 1, k <= n else {
        throw ValidationError("--custodians takes K-of-N, such as 2-of-3")
      }
      guard custodian.count == n else { throw ValidationError("--custodians \(custodians) needs exactly \(n) --custodian keys, not \(custodian.count)") }
      return k
    }

    func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
      _ = try threshold()
      if paths.isEmpty && inventory == nil { throw ValidationError("name what to snapshot: SOURCE arguments or --inventory FILE.yaml") }
      if root != nil && inventory == nil { throw ValidationError("--root needs --inventory") }
      guard [4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1 << 20, 1 << 21, 1 << 22, 1 << 23, 1 << 24].contains(chunkSize) else {
        throw ValidationError("--chunk-size must be a power of two from 4096 to 16777216")
      }
      guard (10...20).contains(scryptLogN) else { throw ValidationError("--scrypt-log-n must be 10...20") }
      guard label.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }), label.trimmingCharacters(in: .whitespaces) == label else {
        throw ValidationError("--label must be one line of printable text without leading or trailing spaces")
      }
    }

    func run() throws {
      let signer = try Secrets.privateIdentities([sign], passphrase: try keyPassphrase.passphrase())[0]
      let listed = try inventory.map { try RehostServices.Inventory(file: $0, root: root) }
      var databases = try paths.filter(DatabaseLocation.looksLikeDatabase).map(DatabaseLocation.init(parsing:))
      if roles {
        guard databases.contains(where: { $0.engine != .sqlite }) else {
          throw RehostError(.usage, "--roles goes with a postgres: or mysql: database SOURCE", hint: "SQLite has no roles; in an inventory, write `roles: true` under the database")
        }
        for i in databases.indices where databases[i].engine != .sqlite { databases[i].roles = true }
      }
      var options = SnapshotOptions(sources: paths.filter { !DatabaseLocation.looksLikeDatabase($0) } + (listed?.sources ?? []),
                                    databases: databases + (listed?.databases ?? []), output: out, signer: signer)
      options.inventory = listed
      options.recipients = try recipient.map(KeyFiles.readPublic)
      options.passphrase = try archivePassphrase.passphrase(fromVariable: false)
      if let k = try threshold() { options.custodians = (k, try custodian.map(KeyFiles.readPublic)) }
      options.label = label.isEmpty ? (listed?.label ?? "") : label
      options.excludes = exclude + (listed?.excludes ?? [])
      options.chunkSize = chunkSize
      options.scryptLogN = scryptLogN
      let progress = TerminalProgress(verb: "snapshot")
      let result = try RehostServices.Snapshot.run(options, progress: progress)
      progress?.done()
      for warning in result.warnings { Console.error("rehost: warning: \(warning)") }
      for note in result.notes { Console.error("rehost: note: \(note)") }
      let f = result.facts
      Console.out("sealed \(result.archivePath): \(f.entries) entries, \(Console.bytes(f.contentBytes)) of content, archive \(Console.bytes(f.archiveSize))")
      Console.out("archive SHA-256 \(f.archiveSHA256)")
      Console.out("seal    \(result.sealPath) (signed by \(f.sealer))")
      if output.json {
        JSONReport.print(JSONReport.Snapshot(archive: result.archivePath, seal: result.sealPath, statement: .init(f),
                                             warnings: result.warnings, notes: result.notes))
      }
    }
  }
}
