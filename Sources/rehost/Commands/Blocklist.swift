import ArgumentParser
import RehostBase
import RehostServices

extension Rehost {
  struct Blocklist: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Manage the weak-key lists `rehost check` uses.",
      subcommands: [Import.self])

    struct Import: ParsableCommand, QuietCommand {
      static let configuration = CommandConfiguration(
        abstract: "Merge blocklists in any of the three formats into one compact store that loads at once.",
        discussion: """
          Reads openssl-blacklist and openssh-blacklist files (blacklist.<RSA|DSA|RSA1>-<bits>) \
          and badkeys' blocklist.dat, from the directories or files given, and writes \
          DIR/rehost-blocklist.bin (sorted 16-byte records, searched on disk). Pass DIR to \
          `rehost check --blocklist DIR`.
          """)

      @Argument(help: ArgumentHelp("Directories holding lists, or list files.", valueName: "SRC"))
      var sources: [String]

      @Option(name: .long, help: ArgumentHelp("Where to write rehost-blocklist.bin (created if needed).", valueName: "DIR"))
      var out: String

      @OptionGroup var quiet: QuietOption

      func run() throws {
        let summary = try BlocklistStore.importLists(from: sources, into: out)
        let lists = summary.debianLists.keys.sorted().map { "\($0) (\(summary.debianLists[$0]!))" }
        Console.out("wrote \(summary.path)")
        Console.out("  Debian lists: \(lists.isEmpty ? "none" : lists.joined(separator: ", "))")
        Console.out("  badkeys records: \(summary.badkeysRecords)")
      }
    }
  }
}
