import ArgumentParser
import Foundation
import RehostBase
import RehostCrypto
import RehostStorage

/// The `rehost` command. All logic lives in RehostServices; commands parse options,
/// call one service and print its report.
@main
struct Rehost: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rehost",
    abstract: "Sealed, encrypted snapshots of a certificate authority's data.",
    discussion: """
      Exit codes: 0 success, 1 failure (I/O, disk full), 2 usage, 3 archive corrupt or \
      tampered, 4 seal missing, invalid or untrusted, 5 wrong key or passphrase, \
      6 refused (unsafe archive entry, special entries, non-empty target, existing output), \
      7 trust policy or expected bag serials not met, 8 busy (another run holds the \
      target), 9 an offsite copy failed (the local backup is kept), 128+N interrupted by \
      signal N (after undoing its half-done work). `rehost check` has its own: 0 clean, \
      1 findings, 2 could not run.
      """,
    version: "0.1.0",
    subcommands: [Keygen.self, Snapshot.self, Verify.self, Restore.self, Inspect.self, Seal.self, Share.self, Manifest.self, Check.self, Blocklist.self, Runbook.self, Backup.self])

  static func main() {
    Interruption.shared.install()
    do {
      ArgumentSyntax.requirementsChecked = false
      _ = try parseAsRoot()
      ArgumentSyntax.requirementsChecked = true
      var command = try parseAsRoot()
      Console.mode = (command as? OutputModeCommand)?.outputMode ?? .text
      try command.run()
    } catch let error as RehostError {
      Console.error("rehost: \(error)")
      let code = ExitCodes.code(for: error.kind)
      if case .json(let command) = Console.mode {
        JSONReport.print(JSONReport.Failure(command: command, exit: code, error))
      }
      Foundation.exit(code)
    } catch let error as CryptoError {
      // libcrypto refused an operation that cannot fail on good input: a bug or a broken install.
      Console.error("rehost: internal error: \(error)\n  hint: check the OpenSSL installation (libssl3); report this with `rehost --version`")
      Foundation.exit(ExitCodes.failure)
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        exit(withError: error)  // --help, --version
      }
      let message = fullMessage(for: error)
      if !message.isEmpty { Console.error(message) }
      let status = code == .validationFailure ? ExitCodes.usage : code.rawValue
      // The command line did not parse, so no command set the mode: a script that asked
      // for JSON still gets its object.
      if CommandLine.arguments.dropFirst().contains("--json") {
        JSONReport.print(JSONReport.Failure(command: CommandLine.arguments.dropFirst().prefix { !$0.hasPrefix("-") }.joined(separator: " "),
                                            exit: status, kind: "usage", error: message, hint: nil))
      }
      Foundation.exit(status)
    }
  }
}
