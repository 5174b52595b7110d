import ArgumentParser
import RehostFormat

/// The keys that open an archive, shared by verify, restore and manifest export.
struct DecryptionOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("Decrypt with this private key; a custodian's key for k-of-n archives (repeatable).", valueName: "NAME.key"))
  var identity: [String] = []

  @Option(name: .long, help: ArgumentHelp("A custodian's share file, exported to your --identity (repeatable).", valueName: "FILE"))
  var share: [String] = []

  @OptionGroup var keyPassphrase: KeyPassphraseOptions

  @OptionGroup var archivePassphrase: ArchivePassphraseOptions

  /// True when any way to decrypt was given.
  var given: Bool { !identity.isEmpty || archivePassphrase.given }

  func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
    if !share.isEmpty && identity.isEmpty { throw ValidationError("--share needs the --identity the shares were exported to") }
  }

  func identities() throws -> [Identity] {
    try Secrets.decryptionIdentities(keys: identity, keyPassphrase: try keyPassphrase.passphrase(), archivePassphrase: try archivePassphrase.passphrase())
  }
}
