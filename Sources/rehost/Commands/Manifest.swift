import Foundation
import ArgumentParser
import RehostServices

extension RehostServices.ManifestExporter.Format: ExpressibleByArgument {}

extension Rehost {
  struct Manifest: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Export an archive's manifest for checking a restored tree with standard tools.",
      subcommands: [Export.self])

    struct Export: ParsableCommand, OutputModeCommand {
      static let configuration = CommandConfiguration(
        abstract: "Write the manifest as a `sha256sum -c` list or as BagIt tag files.",
        discussion: """
          Reads the whole archive with your key (every chunk and entry is checked on the way). \
          sha256sum: paths are relative to the restore directory, so run `cd DIR && sha256sum -c FILE`. \
          bagit: writes bagit.txt, bag-info.txt (the seal's facts) and manifest-sha256.txt into \
          --out DIR; put the restored tree in DIR/data (or use `rehost restore --bagit`).
          """)

      @Argument(help: ArgumentHelp("The archive.", valueName: "FILE.rehost"))
      var archive: String





      @OptionGroup(title: "Keys") var keys: DecryptionOptions

      @Option(name: .long, help: "sha256sum or bagit.")
      var format: RehostServices.ManifestExporter.Format

      @Option(name: .long, help: ArgumentHelp("sha256sum: the file (default: standard output); bagit: the bag directory.", valueName: "PATH"))
      var out: String?

      @Option(name: .long, help: ArgumentHelp("The seal, if not FILE.rehost.seal.", valueName: "PATH"))
      var seal: String?

      @OptionGroup var output: OutputOptions
      var outputMode: Console.Mode { output.mode(command: "manifest export") }

      func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
        if output.json && out == nil { throw ValidationError("--json needs --out PATH: without it the list itself goes to standard output") }
        if !keys.given { throw ValidationError("give --identity NAME.key or --passphrase-file FILE to decrypt") }
        if format == .bagit && out == nil { throw ValidationError("--format bagit needs --out DIR") }
      }

      func run() throws {
        let identities = try keys.identities()
        var options = RehostServices.ManifestExporter.Options(archive: archive, identities: identities, format: format, output: out)
        options.shareFiles = keys.share
        options.sealPath = seal
        if let bytes = try RehostServices.ManifestExporter.run(options) {
          // Names are bytes: written as they are, not as text.
          FileHandle.standardOutput.write(Data(bytes))
        } else if output.json {
          JSONReport.print(JSONReport.ManifestExport(archive: archive, format: format.rawValue, out: out!))
        } else if !output.quiet {
          Console.error("wrote \(format == .bagit ? "BagIt tag files into " : "")\(out!)")
        }
      }
    }
  }
}
