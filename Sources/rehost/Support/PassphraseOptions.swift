import ArgumentParser
import Foundation
import RehostBase
import RehostServices
import RehostStorage

/// One meaning per option name, in every command:
///
/// - `--key-passphrase-file FILE`, `--key-passphrase-fd N`, or `$REHOST_KEY_PASSPHRASE`:
///   the passphrase of a NAME.key (to open it, or, for `keygen`, to encrypt a new one);
/// - `--passphrase-file FILE`, `--passphrase-fd N`, or `$REHOST_PASSPHRASE`: an archive's
///   passphrase (to encrypt to it, or to decrypt with it).
///
/// A file or descriptor gives its first line; the option wins over the variable. A
/// snapshot encrypts to an archive passphrase only when an option gives it.
struct KeyPassphraseOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("The passphrase of an encrypted private key, from this file's first line (else $REHOST_KEY_PASSPHRASE, else the terminal).", valueName: "FILE"))
  var keyPassphraseFile: String?

  @Option(name: .long, help: ArgumentHelp("The same, read from this open file descriptor (e.g. 3 with 3<secret).", valueName: "N"))
  var keyPassphraseFd: Int32?

  static let variable = "REHOST_KEY_PASSPHRASE"

  /// The passphrase given, if any (not asking the terminal).
  func passphrase() throws -> [UInt8]? {
    try PassphraseSource.read(file: keyPassphraseFile, fd: keyPassphraseFd, variable: Self.variable, fileOption: "--key-passphrase-file", fdOption: "--key-passphrase-fd")
  }

  /// Every non-empty line given (`check` tries each on the encrypted keys it finds).
  func lines() throws -> [[UInt8]] {
    if let path = PassphraseSource.path(file: keyPassphraseFile, fd: keyPassphraseFd) {
      let data = try InputFile.read(path, what: "passphrase file", limit: 1 << 20, allowPipe: true)
      return data.split(separator: 0x0a).map { line in Array(line.last == 0x0d ? line.dropLast() : line) }.filter { !$0.isEmpty }
    }
    return try passphrase().map { [$0] } ?? []
  }

  func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
    if keyPassphraseFile != nil && keyPassphraseFd != nil { throw ValidationError("give --key-passphrase-file or --key-passphrase-fd, not both") }
  }
}

struct ArchivePassphraseOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("An archive passphrase, from this file's first line (else $REHOST_PASSPHRASE).", valueName: "FILE"))
  var passphraseFile: String?

  @Option(name: .long, help: ArgumentHelp("The same, read from this open file descriptor.", valueName: "N"))
  var passphraseFd: Int32?

  static let variable = "REHOST_PASSPHRASE"

  /// - Parameter fromVariable: false where the passphrase would add a way to open a new
  ///   archive (snapshot): that takes an option, never a variable left in the environment.
  func passphrase(fromVariable: Bool = true) throws -> [UInt8]? {
    try PassphraseSource.read(file: passphraseFile, fd: passphraseFd, variable: fromVariable ? Self.variable : nil,
                              fileOption: "--passphrase-file", fdOption: "--passphrase-fd")
  }

  var given: Bool { passphraseFile != nil || passphraseFd != nil || ProcessInfo.processInfo.environment[Self.variable] != nil }

  func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
    if passphraseFile != nil && passphraseFd != nil { throw ValidationError("give --passphrase-file or --passphrase-fd, not both") }
  }
}

enum PassphraseSource {
  static func path(file: String?, fd: Int32?) -> String? { file ?? fd.map { "/dev/fd/\($0)" } }

  static func read(file: String?, fd: Int32?, variable: String?, fileOption: String, fdOption: String) throws -> [UInt8]? {
    if let fd {
      guard fcntl(fd, F_GETFD) >= 0 else {
        throw RehostError(.usage, "\(fdOption) \(fd): no such open file descriptor", hint: "open it for rehost, e.g. `\(fdOption) 3 3</path/to/secret`")
      }
    }
    if let path = path(file: file, fd: fd) { return try KeyFiles.passphrase(file: path) }
    if let variable, let value = ProcessInfo.processInfo.environment[variable] {
      guard !value.isEmpty else { throw RehostError(.usage, "$\(variable) is set but empty", hint: "unset it, or set it to the passphrase") }
      return Array(value.utf8)
    }
    return nil
  }
}
