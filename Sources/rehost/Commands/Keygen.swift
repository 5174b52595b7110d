import ArgumentParser
import RehostBase
import RehostServices

extension Rehost {
  struct Keygen: ParsableCommand, QuietCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create an identity (NAME.key, NAME.pub), or show a public key's fingerprints.",
      discussion: """
        An identity holds an Ed25519 key that signs seals and an X25519 key that archives \
        are encrypted to. NAME.key is written with mode 0600, as PKCS#8 PEM that \
        `openssl pkey` reads; it is encrypted when a passphrase is given.
        """)

    @Option(name: .long, help: ArgumentHelp("Write NAME.key and NAME.pub.", valueName: "NAME"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Print the fingerprints of this public key file.", valueName: "NAME.pub"))
    var show: String?

    @OptionGroup(title: "Passphrase that encrypts NAME.key") var keyPassphrase: KeyPassphraseOptions

    @Flag(name: .long, help: "Ask for the passphrase that encrypts NAME.key on the terminal.")
    var askPassphrase = false

    func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
      guard (out == nil) != (show == nil) else { throw ValidationError("give exactly one of --out NAME or --show NAME.pub") }
      if (keyPassphrase.keyPassphraseFile != nil || keyPassphrase.keyPassphraseFd != nil) && askPassphrase {
        throw ValidationError("give --key-passphrase-file (or -fd) or --ask-passphrase, not both")
      }
    }

    @OptionGroup var quiet: QuietOption

    func run() throws {
      if let show {
        printFingerprints(try KeyFiles.readPublic(show))
        return
      }
      var passphrase = askPassphrase ? nil : try keyPassphrase.passphrase()
      if askPassphrase {
        let first = try Secrets.ask("Passphrase for the new key: ")
        guard try Secrets.ask("Same passphrase again: ") == first else {
          throw RehostError(.usage, "the two passphrases differ; nothing was written")
        }
        passphrase = first
      }
      let identity = try KeyFiles.generate(name: out!, passphrase: passphrase)
      Console.out("wrote \(out!).key (private, mode 0600\(passphrase == nil ? ", not passphrase-protected" : ", passphrase-protected")) and \(identity.path)")
      printFingerprints(identity)
    }

    private func printFingerprints(_ identity: PublicIdentity) {
      if let key = identity.signing { Console.out("signing key (Ed25519):    \(key.fingerprint())") }
      if let key = identity.encryption { Console.out("encryption key (X25519):  \(key.fingerprint())") }
      for key in [identity.signing, identity.encryption].compactMap({ $0 }) {
        Console.out("  read aloud (\(key.algorithm.rawValue)): \(ReadAloud.groups(key.fingerprint()))")
      }
    }
  }
}
