import ArgumentParser
import Foundation
import RehostBase
import RehostServices
import RehostStorage

extension Finding.Severity: ExpressibleByArgument {}

extension Rehost {
  struct Check: ParsableCommand, OutputModeCommand {
    static let configuration = CommandConfiguration(
      abstract: "Post-move checks of the keys and certificates under PATH: Debian weak keys, RSA size and exponent, expiry.",
      discussion: """
        Reads every PEM file under the paths (private keys, public keys, certificates). \
        Encrypted private keys are opened with the passphrases in --key-passphrase-file (one \
        per line, each tried); --passphrase-file opens passphrase-protected .rehost archives. \
        Debian weak keys (CVE-2008-0166) are found with openssl-blacklist lists \
        (blacklist.RSA-<bits>) from --blocklist DIR and /usr/share/openssl-blacklist; a key \
        size no list covers is reported, never silently passed. \
        Exit codes: 0 clean, 1 findings at or above --fail-on, 2 could not run.
        """)

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    @Argument(help: ArgumentHelp("Files or directories to check (a restored CA, /etc/ssl, ...).", valueName: "PATH"))
    var paths: [String] = []

    @Option(name: .long, help: ArgumentHelp("A live TLS endpoint whose served chain is checked (repeatable).", valueName: "HOST:PORT"))
    var tls: [String] = []

    @Option(name: .long, help: ArgumentHelp("With --tls: the name to ask for (SNI) and check the certificate against, for a new host reached by address before DNS moves.", valueName: "NAME"))
    var servername: String?

    @Option(name: .long, help: ArgumentHelp("A directory of blacklist.RSA-<bits> files (repeatable).", valueName: "DIR"))
    var blocklist: [String] = []

    @Flag(name: .long, help: "Do not load lists from /usr/share/openssl-blacklist.")
    var noStandardBlocklists = false

    @OptionGroup(title: "Keys for checking inside .rehost archives") var keys: DecryptionOptions

    @Option(name: .long, help: "text or json (the same as --json).")
    var format: OutputFormat = .text

    @OptionGroup var output: OutputOptions
    var outputMode: Console.Mode { format == .json ? .json(command: "check") : output.mode(command: "check") }

    @Option(name: .long, help: "Exit 1 when a finding is at least this severe: error or warning.")
    var failOn: Finding.Severity = .error

    @Option(name: .long, help: ArgumentHelp("Warn about certificates expiring within this many days.", valueName: "DAYS"))
    var expiryDays = 30

    func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
      if paths.isEmpty && tls.isEmpty { throw ValidationError("name a PATH to check, or --tls HOST:PORT") }
      if servername != nil && tls.isEmpty { throw ValidationError("--servername goes with --tls HOST:PORT") }
    }

    func run() throws {
      let report: CheckReport
      do {
        var options = CheckOptions(paths: paths)
        options.tlsEndpoints = tls
        options.tlsServerName = servername
        options.archiveIdentities = try keys.identities()
        options.keyPassphrases = try keys.keyPassphrase.lines()
        options.archiveShareFiles = keys.share
        options.blocklistDirectories = blocklist
        options.useStandardBlocklists = !noStandardBlocklists
        options.expiryWarningDays = expiryDays
        let progress = TerminalProgress(verb: "check", unit: "files")
        report = try Checks.run(options, progress: progress)
        progress?.done()
      } catch let error as RehostError {
        Console.error("rehost: \(error)")
        if case .json = outputMode {
          JSONReport.print(JSONReport.Failure(command: "check", exit: 2, error))
        }
        throw ExitCode(2)  // could not run
      }
      switch outputMode {
      case .json: printJSON(report)
      case .text: printText(report)
      case .quiet: break
      }
      if report.findings.contains(where: { $0.severity >= failOn }) { throw ExitCode(1) }
    }

    private func printText(_ report: CheckReport) {
      for f in report.findings {
        let place = f.file + (f.line.map { ":\($0)" } ?? "")
        print("\(f.severity.rawValue.uppercased().padding(toLength: 7, withPad: " ", startingAt: 0)) \(place): \(f.subject): \(f.problem)")
        print("        do: \(f.action)")
      }
      let count = { (s: Finding.Severity) in report.findings.filter { $0.severity == s }.count }
      let lists = report.blocklists.keys.sorted().joined(separator: ", ")
      print("checked \(report.filesScanned) files with keys or certificates: \(report.keys) keys, \(report.certificates) certificates; "
        + "\(count(.error)) errors, \(count(.warning)) warnings; Debian lists: \(lists.isEmpty ? "none" : lists)")
    }

    private func printJSON(_ report: CheckReport) {
      struct Output: Encodable {
        let command = "check", status = "ok"
        /// Whether a finding reached --fail-on (the exit code is then 1).
        let failed: Bool
        let findings: [Finding]
        let filesScanned: Int
        let keys: Int
        let certificates: Int
        let debianBlocklists: [String: Int]
      }
      let output = Output(failed: report.findings.contains { $0.severity >= failOn }, findings: report.findings, filesScanned: report.filesScanned, keys: report.keys,
                          certificates: report.certificates,
                          debianBlocklists: report.blocklists)
      JSONReport.print(output)
    }
  }
}
