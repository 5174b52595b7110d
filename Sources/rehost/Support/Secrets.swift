import Foundation
import RehostBase
import RehostFormat
import RehostServices
import RehostStorage

/// Passphrases from files or the terminal, and the identities they unlock.
enum Secrets {
  /// Reads a passphrase file: its first line, without the newline.
  static func passphrase(file path: String) throws -> [UInt8] { try KeyFiles.passphrase(file: path) }

  /// Asks on the controlling terminal with echo off; fails when there is none (cron).
  /// - Parameter noTerminal: the error when there is no terminal, naming what needs the
  ///   passphrase and the options that give it.
  static func ask(_ prompt: String, noTerminal: RehostError? = nil) throws -> [UInt8] {
    let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
    guard tty >= 0 else {
      throw noTerminal ?? RehostError(.key, "a passphrase is needed and there is no terminal to ask on",
                                      hint: "pass it with a passphrase file option instead")
    }
    defer { close(tty) }
    var saved = termios()
    tcgetattr(tty, &saved)
    var quiet = saved
    quiet.c_lflag &= ~tcflag_t(ECHO)
    tcsetattr(tty, TCSAFLUSH, &quiet)
    // Ctrl-C at the prompt must not leave the terminal without echo.
    let original = saved
    let restore = Interruption.shared.onEnd {
      var settings = original
      tcsetattr(tty, TCSANOW, &settings)
    }
    defer {
      Interruption.shared.unregister(restore)
      tcsetattr(tty, TCSAFLUSH, &saved)
      _ = "\n".withCString { Glibc.write(tty, $0, 1) }
    }
    _ = prompt.withCString { Glibc.write(tty, $0, strlen($0)) }
    var bytes: [UInt8] = []
    var c: UInt8 = 0
    while read(tty, &c, 1) == 1 && c != 0x0a { bytes.append(c) }
    guard !bytes.isEmpty else { throw RehostError(.key, "no passphrase given") }
    return bytes
  }

  /// Loads private identities, asking for each encrypted key's passphrase in turn
  /// unless one is given (``KeyPassphraseOptions``).
  static func privateIdentities(_ paths: [String], passphrase given: [UInt8]?) throws -> [PrivateIdentity] {
    return try paths.map { path in
      var pass = given
      if pass == nil, try KeyFiles.isEncrypted(path) {
        pass = try ask("Passphrase for \(path): ", noTerminal: RehostError(
          .key, "\(path) is protected by a passphrase, and no terminal is there to ask for it",
          hint: "give the passphrase of \(path) with --key-passphrase-file FILE, --key-passphrase-fd N or $REHOST_KEY_PASSPHRASE"))
      }
      return try KeyFiles.readPrivate(path, passphrase: pass)
    }
  }

  /// Decryption identities from `--identity` keys and an archive `--passphrase-file`.
  static func decryptionIdentities(keys: [String], keyPassphrase: [UInt8]?, archivePassphrase: [UInt8]?) throws -> [Identity] {
    var identities: [Identity] = try privateIdentities(keys, passphrase: keyPassphrase).map { identity in
      guard let key = identity.encryption else {
        throw RehostError(.key, "\(identity.path) has no X25519 decryption key", hint: "pass a NAME.key written by `rehost keygen`")
      }
      return X25519Identity(privateKey: key)
    }
    if let archivePassphrase { identities.append(PassphraseIdentity(passphrase: archivePassphrase)) }
    return identities
  }
}
