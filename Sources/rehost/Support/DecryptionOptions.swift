import ArgumentParser
import RehostFormat

/// The keys that open an archive, shared by verify, restore and manifest export.
struct DecryptionOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("Decrypt with this private key; a custodian's key for k-of-n archives (repeatable).", valueName: "NAME.key"))
  var identity: [String] = []

  @Option(name: .long, help: ArgumentHelp("A custodian's share file, exported to your --identity (repeatable).", valueName: "FILE"))
  var share: [String] = []

  @Option(name: .long, help: ArgumentHelp("Passphrase file for encrypted --identity keys (else each is asked for on the terminal).", valueName: "FILE"))
  var keyPassphraseFile: String?

  @Option(name: .long, help: ArgumentHelp("Decrypt with the archive passphrase in this file.", valueName: "FILE"))
  var passphraseFile: String?

  /// True when any way to decrypt was given.
  var given: Bool { !identity.isEmpty || passphraseFile != nil }

  func validate() throws {
    if !share.isEmpty && identity.isEmpty { throw ValidationError("--share needs the --identity the shares were exported to") }
  }

  func identities() throws -> [Identity] {
    try Secrets.decryptionIdentities(keys: identity, keyPassphraseFile: keyPassphraseFile, archivePassphraseFile: passphraseFile)
  }
}
