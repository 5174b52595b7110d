import Foundation
import RehostStorage
import Testing

@Suite struct SpoolFileTests {
  /// A scratch file has no name from the moment it exists (nothing for a process that ends
  /// to leave behind), and reads back what was written.
  @Test func aScratchFileHasNoNameAndReadsBack() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spool = try SpoolFile(directory: dir)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    try bytes.withUnsafeBytes { try spool.write($0) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    let reader = try spool.reader()
    var back: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 7000)
    while case let n = try buffer.withUnsafeMutableBytes({ try reader.read(into: $0) }), n > 0 { back += buffer[0..<n] }
    #expect(back == bytes)
    #expect(throws: (any Error).self) { try SpoolFile(directory: dir + "/missing") }
  }
}
