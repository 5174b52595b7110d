import ArgumentParser
import RehostBackups
import RehostBase

extension Rehost.Backup {
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "The backups in a repository: time, sequence, size, entries, signer, status.",
      discussion: "Quick: sizes and seal hashes, no archive read (verify-chain reads them). Only a backup the chain records, with the recorded files, shows as ok.")

    @Argument(help: ArgumentHelp("The repository: a directory, or rclone:REMOTE for an offsite copy.", valueName: "REPO"))
    var repository: String

    @Option(name: .long, help: ArgumentHelp("The rclone config file, for rclone:REMOTE (default: rclone's own).", valueName: "FILE"))
    var rcloneConfig: String?

    var files: any RepositoryFiles { Repository.files(repository, rcloneConfig: rcloneConfig) }

    @Flag(name: .long, help: "One JSON object per backup, one per line.")
    var json = false

    @Flag(name: .long, help: "Print only the newest complete backup's archive path.")
    var newest = false

    func run() throws {
      if newest {
        print("newest: \(try Listing.newest(files))")
        return
      }
      let (_, rows) = try Listing.rows(files)
      for r in rows {
        if json {
          print("{\"sequence\":\(r.sequence),\"archive\":\(JSONText.string(r.archive)),\"created\":\(JSONText.string(r.created)),\"bytes\":\(r.size),"
                + "\"entries\":\(r.entries),\"signer\":\(JSONText.string(r.signer)),\"status\":\(JSONText.string(r.status)),\"complete\":\(r.complete)}")
        } else {
          print("\(String(format: "%6d", r.sequence))  \(r.created)  \(Console.bytes(r.size).padding(toLength: 10, withPad: " ", startingAt: 0))  \(String(format: "%7d", r.entries)) entries  \(r.signer.prefix(16))…  \(r.status)")
        }
      }
      if rows.isEmpty && !json { print("no backups yet") }
    }
  }
}
