import ArgumentParser
import RehostBase
import RehostFormat
import RehostServices

extension Rehost {
  struct Inspect: ParsableCommand, OutputModeCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print an archive's seal and header. Needs no key and checks nothing: use verify for that.")

    @Argument(help: ArgumentHelp("The archive.", valueName: "FILE.rehost"))
    var archive: String

    @Option(name: .long, help: ArgumentHelp("The seal, if not FILE.rehost.seal.", valueName: "PATH"))
    var seal: String?

    @OptionGroup var output: OutputOptions
    var outputMode: Console.Mode { output.mode(command: "inspect") }

    func run() throws {
      let report = try RehostServices.Inspect.run(archive: archive, sealPath: seal)
      if output.json { return JSONReport.print(JSONReport.Inspect(archive: archive, report)) }
      if let seal = report.seal {
        Console.out(seal.encoded())
      } else if let error = report.sealError {
        Console.out("seal: \(error.message)\n")
      }
      Console.out("archive \(archive)")
      Console.out("  format \(ArchiveHeader.magic), \(report.fileSize) bytes, header \(report.headerLength) bytes")
      switch report.chunks {
      case .success(let n): Console.out("  \(n) chunks of up to \(report.header.chunkSize) bytes (AES-256-GCM)")
      case .failure(let error): Console.out("  payload length is impossible: \(error.message)")
      }
      for stanza in report.header.stanzas {
        switch stanza.type {
        case X25519Recipient.stanzaType: Console.out("  recipient x25519 key \(stanza.arguments.first ?? "?")")
        case PassphraseRecipient.stanzaType: Console.out("  recipient passphrase (scrypt, N = 2^\(stanza.arguments.last ?? "?"))")
        case CustodianGroup.stanzaType:
          Console.out("  custodian share \(stanza.arguments.dropFirst().first ?? "?") of a \(stanza.arguments.first ?? "?") split, key \(stanza.arguments.dropFirst(2).first ?? "?")")
        default: Console.out("  recipient \(stanza.type) (unknown to this version)")
        }
      }
    }
  }
}
