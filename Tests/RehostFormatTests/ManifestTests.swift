import RehostFormat
import Testing

@Suite struct ManifestTests {
  @Test func entryLinesAreCanonicalAndParseBack() throws {
    let entry = ManifestEntry(
      path: "ca/private/\"odd\"\\name\twith\u{1}control", type: .file, size: 42, mode: 0o100600, uid: 0, gid: 0,
      user: "root", group: "root", mtimeSeconds: 1_717_200_000, mtimeNanoseconds: 5, sha256: String(repeating: "0", count: 64))
    let line = entry.jsonLine()
    #expect(line.contains("\"mode\":\"0600\""))
    #expect(line.contains("\"mtime\":\"1717200000.000000005\""))
    #expect(!line.contains("\n"))
    let parsed = try ManifestEntry.parse(line)
    #expect(parsed == entry)
    #expect(parsed.jsonLine() == line)
  }

  @Test func differencesNameTheFields() {
    let a = ManifestEntry(path: "ca/x", type: .file, size: 1, mode: 0o644, uid: 0, gid: 0, user: "root", group: "root",
                          mtimeSeconds: 1, mtimeNanoseconds: 0, sha256: "aa")
    var b = a
    b.sha256 = "bb"
    b.mode = "0600"
    let diff = a.differences(from: b)
    #expect(diff.count == 2)
    #expect(diff.contains { $0.hasPrefix("sha256 bb") })
    #expect(diff.contains { $0.hasPrefix("mode 0600") })
  }
}
