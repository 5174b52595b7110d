import ArgumentParser
import RehostServices

extension Rehost {
  struct Share: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Custodian shares of k-of-n archives.",
      subcommands: [Export.self])

    struct Export: ParsableCommand, QuietCommand {
      static let configuration = CommandConfiguration(
        abstract: "Unwrap your share of an archive and encrypt it to the restoring operator's key.",
        discussion: """
          For custodians who are not at the restoring machine. The operator then runs \
          `rehost restore FILE.rehost --identity OPERATOR.key --share A.share --share B.share`; \
          each share is checked against the archive's header before use.
          """)

      @Argument(help: ArgumentHelp("The archive.", valueName: "FILE.rehost"))
      var archive: String

      @Option(name: .long, help: ArgumentHelp("Your custodian identity.", valueName: "NAME.key"))
      var identity: String

      @OptionGroup var keyPassphrase: KeyPassphraseOptions

      @Option(name: .long, help: ArgumentHelp("The restoring operator's identity.", valueName: "OPERATOR.pub"))
      var to: String

      @Option(name: .long, help: ArgumentHelp("The share file to write (mode 0600).", valueName: "FILE"))
      var out: String

      @OptionGroup var quiet: QuietOption

      func run() throws {
        let custodian = try Secrets.privateIdentities([identity], passphrase: try keyPassphrase.passphrase())[0]
        let share = try ShareExport.run(archive: archive, custodian: custodian, to: try KeyFiles.readPublic(to), out: out)
        Console.out("wrote \(out): share \(share.share.index) of a \(share.threshold)-of-\(share.total) split, for \(to)")
      }
    }
  }
}
