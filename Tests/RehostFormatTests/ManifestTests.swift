import RehostBase
import RehostFormat
import Testing

@Suite struct ManifestTests {
  @Test func entryLinesAreCanonicalAndParseBack() throws {
    let entry = ManifestEntry(
      path: ArchivePath("ca/private/\"odd\"\\name\twith\u{1}control\u{7f}é"), type: .file, size: 42, mode: 0o100600, uid: 0, gid: 0,
      user: "root", group: "root", mtimeSeconds: 1_717_200_000, mtimeNanoseconds: 5, sha256: String(repeating: "0", count: 64))
    let line = entry.jsonLine()
    #expect(line == #"{"path":"ca/private/\"odd\"\\name\twith\u0001control\u007fé","type":"file","size":42,"mode":"0600","uid":0,"gid":0,"user":"root","group":"root","mtime":"1717200000.000000005","sha256":"0000000000000000000000000000000000000000000000000000000000000000"}"#)
    let parsed = try ManifestEntry.parse(line)
    #expect(parsed == entry)
    #expect(parsed.jsonLine() == line)
  }

  @Test func namesThatAreNotUTF8AreBase64() throws {
    let entry = ManifestEntry(path: ArchivePath(bytes: Array("ca/bad".utf8) + [0xff, 0xfe]), type: .symlink, size: 0, mode: 0o777,
                              uid: 1, gid: 2, user: "", group: "", mtimeSeconds: -1, mtimeNanoseconds: 500_000_000,
                              target: [0x80, 0x2f, 0x61])
    let line = entry.jsonLine()
    #expect(line.hasPrefix(#"{"path_b64":"Y2EvYmFk//4=","type":"symlink""#))
    #expect(line.contains(#""mtime":"-1.500000000""#))
    #expect(line.hasSuffix(#","target_b64":"gC9h"}"#))
    #expect(try ManifestEntry.parse(line) == entry)
  }

  @Test func devicesCarryTheirNumbers() throws {
    let entry = ManifestEntry(path: ArchivePath("ca/dev/null"), type: .chardev, size: 0, mode: 0o666, uid: 0, gid: 0,
                              user: "root", group: "root", mtimeSeconds: 0, mtimeNanoseconds: 0, device: (1, 3))
    #expect(entry.jsonLine().contains(#""mtime":"0.000000000","device":"1,3"}"#))
  }

  @Test func differencesNameTheFields() {
    let a = ManifestEntry(path: ArchivePath("ca/x"), type: .file, size: 1, mode: 0o644, uid: 0, gid: 0, user: "root", group: "root",
                          mtimeSeconds: 1, mtimeNanoseconds: 0, sha256: "aa")
    var b = a
    b.sha256 = "bb"
    b.mode = "0600"
    let diff = a.differences(from: b)
    #expect(diff.count == 2)
    #expect(diff.contains { $0.hasPrefix("sha256 bb") })
    #expect(diff.contains { $0.hasPrefix("mode 0600") })
  }

  @Test func databaseFileNamesAreStrict() {
    #expect(ManifestDatabase.fileName(ArchivePath(".rehost/databases/web/dump.000002.pgdump"))?.part == 2)
    #expect(ManifestDatabase.fileName(ArchivePath(".rehost/databases/web/database.sqlite"))?.database == "web")
    #expect(ManifestDatabase.fileName(ArchivePath(".rehost/databases/web/roles.sql"))?.part == 0)
    for bad in [".rehost/databases/web/roles.pgdump", ".rehost/databases/web/Roles.sql", ".rehost/evil", ".rehost/databases/web/evil", ".rehost/databases/.x/database.sqlite",
                ".rehost/databases/web/dump.1.sql", ".rehost/databases/web/dump.000000.sql", ".rehost/databases/web/sub/database.sqlite"] {
      #expect(ManifestDatabase.fileName(ArchivePath(bad)) == nil, "\(bad)")
    }
  }

  @Test func aDatabaseRecordNamesItsRolesFileOnlyWhenItHasOne() throws {
    var record = ManifestDatabase(name: "web", method: "pg_dump-custom", server: "PostgreSQL 15", source: "postgres:dbname=ca",
                                  tables: [.init(name: "public.t", rows: 2, checksum: "md5sum64:1")], files: ["dump.000001.pgdump"], bytes: 10)
    #expect(!record.jsonLine().contains("roles"))
    #expect(try ManifestDatabase.parse(record.jsonLine()) == record)
    record.roles = ManifestDatabase.rolesFileName
    #expect(record.jsonLine().hasSuffix(#""bytes":10,"roles":"roles.sql"}}"#))
    #expect(try ManifestDatabase.parse(record.jsonLine()) == record)
  }
}
