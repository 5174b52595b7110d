import ArgumentParser
import RehostBase
import RehostServices

extension Rehost {
  struct Verify: ParsableCommand, OutputModeCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check an archive's seal and integrity; with a key, check every entry too.",
      discussion: """
        Without a key (the auditor's check): the seal's signatures against --trust keys, and \
        the archive's SHA-256, size and structure against the seal. With --identity or \
        --passphrase-file (deep verify): also decrypts every chunk and checks every entry \
        against the manifest. Nothing is written.
        """)

    @Argument(help: ArgumentHelp("The archive.", valueName: "FILE.rehost"))
    var archive: String

    @OptionGroup var trust: TrustOptions

    @OptionGroup(title: "Deep verify") var keys: DecryptionOptions

    @OptionGroup var output: OutputOptions
    var outputMode: Console.Mode { output.mode(command: "verify") }

    func run() throws {
      var options = VerifyOptions(archive: archive, sealPath: trust.seal, policy: try trust.trustPolicy())
      options.expectedBags = trust.expectedBags
      options.shareFiles = keys.share
      options.identities = try keys.identities()
      let progress = TerminalProgress(verb: "verify")
      let report = try RehostServices.Verify.run(options, progress: progress)
      progress?.done()
      Report.signatures(report.signatures, policy: options.policy)
      if output.json {
        JSONReport.print(JSONReport.Verify(archive: archive, statement: .init(report.facts), signatures: report.signatures.map(JSONReport.CheckedSignature.init),
                                           trust: .init(options.policy), chunks: report.chunks, deep: report.payload != nil,
                                           content: report.payload.map(JSONReport.Content.init)))
        return
      }
      let f = report.facts
      Console.out("archive \(archive): \(f.archiveSize) bytes, SHA-256 \(f.archiveSHA256), matches the seal")
      Console.out("  \(report.chunks) chunks; encrypted to \(f.recipients.joined(separator: "; "))")
      if let payload = report.payload {
        Console.out("  deep: every chunk authenticated; \(payload.totals.entries) entries (\(payload.totals.files) files, \(Console.bytes(payload.totals.bytes))) match the manifest")
        if let secrets = payload.manifestHeader.secrets, !secrets.isEmpty {
          Console.out("  secret key material (inventory): \(secrets.joined(separator: ", "))")
        }
        for (path, why) in payload.specialEntries {
          Console.out("  special entry (restored only with --allow-special): \(path) (\(why))")
        }
        for database in payload.databases {
          let rows = database.tables.reduce(Int64(0)) { $0 + $1.rows }
          Console.out("  database \(database.name): \(database.method) of \(database.server), \(database.tables.count) tables, \(rows) rows, dump \(Console.bytes(database.bytes)) in \(database.files.count == 1 ? "1 file" : "\(database.files.count) files")"
                      + (database.roles != nil ? ", with its server's roles and grants" : ""))
        }
        Console.out("OK: seal, archive and content verified")
      } else {
        Console.out("OK: seal and archive verified (content not decrypted; pass --identity for a deep verify)")
      }
    }
  }
}

/// Printing shared by verify and restore.
enum Report {
  static func signatures(_ checks: [SignatureCheck], policy: TrustPolicy) {
    for check in checks {
      let status: String
      switch check.status {
      case .counted(let path): status = "valid, counted (\(path))"
      case .notCounted(let reason): status = "not counted: \(reason)"
      }
      Console.out("signature \(check.index): \(check.role), key \(check.keyFingerprint), \(check.time): \(status)")
      for bag in check.bags { Console.out("  bag serial: \(bag)") }
      if let note = check.note { Console.out("  note: \(note)") }
    }
    let needs = policy.requirements.map { requirement -> String in
      switch requirement {
      case .role(let role, let count): count == 1 ? role : "\(count) × \(role)"
      case .people(let n): "\(n) \(n == 1 ? "person" : "distinct people")"
      }
    }
    Console.out("trust: \(policy.source) met (needs \(needs.joined(separator: ", ")))")
  }
}
