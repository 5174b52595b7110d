import ArgumentParser
import Foundation
import RehostBase
import RehostFormat
import RehostServices

extension Rehost {
  struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Countersign a seal as a witness, or print it for paper.",
      subcommands: [Sign.self, Show.self])

    struct Sign: ParsableCommand, QuietCommand {
      static let configuration = CommandConfiguration(
        abstract: "Add your signature to an archive's seal, in a role, with what you witnessed.",
        discussion: """
          Checks first that the archive is the one the seal's statement describes (SHA-256 \
          and size), then appends a signature block covering the statement, your role, the \
          time, your key, and any bag serials and note. Other signatures are not touched.
          """)

      @Argument(help: ArgumentHelp("The archive.", valueName: "FILE.rehost"))
      var archive: String

      @Option(name: .long, help: ArgumentHelp("Your identity.", valueName: "NAME.key"))
      var key: String

      @OptionGroup var keyPassphrase: KeyPassphraseOptions

      @Option(name: .long, help: "The role you sign in: operator, auditor, isp-witness, ...")
      var role: String

      @Option(name: .long, help: ArgumentHelp("Serial number of a tamper-evident bag or disk seal (repeatable).", valueName: "SERIAL"))
      var bag: [String] = []

      @Option(name: .long, help: "A note recorded in your signature.")
      var note: String?

      @Option(name: .long, help: ArgumentHelp("The seal, if not FILE.rehost.seal.", valueName: "PATH"))
      var seal: String?

      @OptionGroup var quiet: QuietOption

      func run() throws {
        let signer = try Secrets.privateIdentities([key], passphrase: try keyPassphrase.passphrase())[0]
        var options = CountersignOptions(archive: archive, signer: signer, role: role)
        options.sealPath = seal
        options.note = note
        options.bags = bag
        let result = try Countersign.run(options)
        let added = result.signatures.last!
        Console.out("signed \(archive)'s seal as \(added.role) (signature \(result.signatures.count), key \(added.keyFingerprint))")
      }
    }

    struct Show: ParsableCommand, OutputModeCommand {
      static let configuration = CommandConfiguration(
        abstract: "Print a seal for paper: statement, signatures, and hashes in groups to read aloud.",
        discussion: "Prints only; `rehost verify` checks.")

      @Argument(help: ArgumentHelp("The archive.", valueName: "FILE.rehost"))
      var archive: String

      @Option(name: .long, help: ArgumentHelp("The seal, if not FILE.rehost.seal.", valueName: "PATH"))
      var seal: String?

      @OptionGroup var output: OutputOptions
      var outputMode: Console.Mode { output.mode(command: "seal show") }

      func run() throws {
        let seal = try SealCheck.load(archive: archive, sealPath: seal)
        if output.json { return JSONReport.print(JSONReport.SealShow(archive: archive, seal: .init(seal))) }
        Console.out(seal.encoded())
        Console.out("To compare aloud (groups of four hex digits):")
        let facts = try SealFacts(fields: seal.statement)
        Console.out("  archive SHA-256:   \(ReadAloud.groups(facts.archiveSHA256))")
        Console.out("  manifest SHA-256:  \(ReadAloud.groups(facts.manifestSHA256))")
        Console.out("  statement SHA-256: \(ReadAloud.groups(seal.statementSHA256))")
        for (i, signature) in seal.signatures.enumerated() {
          Console.out("  signature \(i + 1) (\(signature.role)) key: \(ReadAloud.groups(signature.keyFingerprint))")
        }
        Console.out("\nThis is a printout, not a check: run `rehost verify \(archive) --policy FILE` (or --trust) to verify.")
      }
    }
  }
}

/// Hex in groups of four, easier to read out and compare by two people.
enum ReadAloud {
  static func groups(_ hex: String) -> String {
    stride(from: 0, to: hex.count, by: 4).map { i in
      let start = hex.index(hex.startIndex, offsetBy: i)
      return String(hex[start..<hex.index(start, offsetBy: min(4, hex.count - i))])
    }.joined(separator: " ")
  }
}
