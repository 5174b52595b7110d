import ArgumentParser
import RehostBase
import RehostDatabases
import RehostServices

extension Rehost {
  struct Restore: ParsableCommand, OutputModeCommand {
    static let configuration = CommandConfiguration(
      abstract: "Restore an archive into a directory, checked entry by entry, moved into place only when whole.",
      discussion: """
        Each source lands in DIR/<its name>. Extraction goes to a staging directory (beside \
        a new DIR; inside DIR when it is a mount point or --force fills it); nothing \
        appears in DIR unless the seal, every chunk, every entry and the archive's hash \
        all check out. With --force, only the entries the archive holds are replaced; \
        anything else in DIR is kept. Owners are restored when run as root; as another \
        user, an archive holding secret material is refused unless --no-owners.
        Databases go where --db NAME=sqlite:PATH|postgres:CONNINFO|mysql:"OPTIONS DATABASE" \
        says, into a new file or an empty database; then every table's row count and \
        checksum are compared with the manifest and reported.
        """)

    @Argument(help: ArgumentHelp("The archive.", valueName: "FILE.rehost"))
    var archive: String

    @Option(name: .long, help: ArgumentHelp("The directory to restore files into: created, or an empty one (a mount point) filled; a non-empty one needs --force.", valueName: "DIR"))
    var to: String?

    @Option(name: .long, help: ArgumentHelp("Restore database NAME into a new SQLite file or an empty database (repeatable).", valueName: "NAME=ENGINE:TARGET"))
    var db: [String] = []

    @OptionGroup var trust: TrustOptions

    @OptionGroup(title: "Keys") var keys: DecryptionOptions

    @Flag(name: .long, help: "Restore into a non-empty DIR: each of the archive's sources replaces the entry of its name (one atomic swap each, once all checked out); other entries are kept.")
    var force = false

    @Flag(name: .long, help: "Do not restore owners: everything belongs to the restorer (needed to restore secret material as a user other than root).")
    var noOwners = false

    @Flag(name: .long, help: "Lay DIR out as a BagIt bag: the tree in DIR/data, with bagit.txt, bag-info.txt, manifest-sha256.txt.")
    var bagit = false

    @Flag(name: .long, help: "Also restore special entries: device nodes, setuid/setgid files, world-writable ones, files with capabilities (refused by name otherwise).")
    var allowSpecial = false

    @OptionGroup var output: OutputOptions
    var outputMode: Console.Mode { output.mode(command: "restore") }

    func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
      if !keys.given { throw ValidationError("give --identity NAME.key or --passphrase-file FILE to decrypt") }
      if to == nil && db.isEmpty { throw ValidationError("give --to DIR, --db NAME=ENGINE:TARGET, or both") }
      for spec in db where !spec.contains("=") { throw ValidationError("--db takes NAME=ENGINE:TARGET, such as ca=sqlite:/var/lib/ca/ca.db") }
    }

    func run() throws {
      let identities = try keys.identities()
      var options = RestoreOptions(archive: archive, target: to, policy: try trust.trustPolicy(), identities: identities)
      options.sealPath = trust.seal
      options.shareFiles = keys.share
      options.expectedBags = trust.expectedBags
      options.force = force
      options.bagit = bagit
      options.allowSpecial = allowSpecial
      options.noOwners = noOwners
      for spec in db {
        let location = try DatabaseLocation(parsing: spec)
        guard options.databases.updateValue(location, forKey: location.name) == nil else {
          throw RehostError(.usage, "--db \(location.name)=... is given twice")
        }
      }
      let progress = TerminalProgress(verb: "restore")
      let report = try RehostServices.Restore.run(options, progress: progress)
      progress?.done()
      for problem in report.problems { Console.error("rehost: warning: \(problem)") }
      if output.json {
        JSONReport.print(JSONReport.Restore(archive: archive, statement: .init(report.facts), signatures: report.signatures.map(JSONReport.CheckedSignature.init),
                                            trust: .init(options.policy), target: report.target, bagit: bagit,
                                            content: .init(report.payload), databases: report.databases.map(JSONReport.RestoredDatabase.init),
                                            notes: report.notes, warnings: report.problems))
        return
      }
      Report.signatures(report.signatures, policy: options.policy)
      for note in report.notes { Console.out("note: \(note)") }
      for (path, why) in report.payload.specialEntries { Console.out("special entry restored: \(path) (\(why))") }
      let t = report.restored
      if let target = report.target {
        Console.out("restored \(t.entries) entries (\(t.files) files, \(Console.bytes(t.bytes))) into \(target)\(bagit ? "/data (a BagIt bag)" : "")")
      }
      for database in report.databases {
        Console.out("restored database \(database.name) (\(database.method)) into \(database.target):")
        if let roles = database.roles {
          Console.out("  roles first: \(roles.roles.count) present as recorded (\(roles.roles.joined(separator: ", ")))"
                      + (roles.existing.isEmpty ? "" : "; \(roles.existing.joined(separator: ", ")) existed already, given the recorded attributes"))
        }
        for table in database.tables { Console.out("  \(table.summary)") }
      }
      Console.out("checked: seal, every chunk, every entry against the manifest, archive SHA-256 \(report.facts.archiveSHA256)")
    }
  }
}
