import ArgumentParser
import RehostBase
import RehostFormat
import RehostServices

extension Rehost {
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print an archive's seal and header. Needs no key and checks nothing: use verify for that.")

    @Argument(help: ArgumentHelp("The archive.", valueName: "FILE.rehost"))
    var archive: String

    @Option(name: .long, help: ArgumentHelp("The seal, if not FILE.rehost.seal.", valueName: "PATH"))
    var seal: String?

    func run() throws {
      let report = try RehostServices.Inspect.run(archive: archive, sealPath: seal)
      if let seal = report.seal {
        print(seal.encoded())
      } else if let error = report.sealError {
        print("seal: \(error.message)\n")
      }
      print("archive \(archive)")
      print("  format \(ArchiveHeader.magic), \(report.fileSize) bytes, header \(report.headerLength) bytes")
      switch report.chunks {
      case .success(let n): print("  \(n) chunks of up to \(report.header.chunkSize) bytes (AES-256-GCM)")
      case .failure(let error): print("  payload length is impossible: \(error.message)")
      }
      for stanza in report.header.stanzas {
        switch stanza.type {
        case X25519Recipient.stanzaType: print("  recipient x25519 key \(stanza.arguments.first ?? "?")")
        case PassphraseRecipient.stanzaType: print("  recipient passphrase (scrypt, N = 2^\(stanza.arguments.last ?? "?"))")
        case CustodianGroup.stanzaType:
          print("  custodian share \(stanza.arguments.dropFirst().first ?? "?") of a \(stanza.arguments.first ?? "?") split, key \(stanza.arguments.dropFirst(2).first ?? "?")")
        default: print("  recipient \(stanza.type) (unknown to this version)")
        }
      }
    }
  }
}
