import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
@testable import RehostServices
import RehostStorage
import Testing

/// Archives a hostile sealer could make (correctly encrypted and sealed, so every
/// integrity check passes): restore must still refuse to write outside its target.
@Suite final class HostileArchiveTests {
  enum Entry {
    case directory(String)
    case file(String)
    case symlink(String, to: String)
    case hardlink(String, to: String)
  }

  let dir: String
  let sealer = try! AsymmetricKey.generate(.ed25519)
  let custodian = try! AsymmetricKey.generate(.x25519)

  init() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("rehost-hostile-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir + "/inside", withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: dir) }

  /// Writes and seals an archive holding `entries` (and no manifest).
  func archive(_ entries: [Entry]) throws -> String {
    let path = dir + "/inside/hostile-\(UUID().uuidString).rehost"
    let recipient = X25519Recipient(publicKey: try AsymmetricKey.publicKey(.x25519, raw: custodian.rawPublicKey()))
    let (header, key) = try Envelope.seal(to: [recipient], chunkSize: 4096)
    let file = try AtomicFile(path: path)
    let hashed = HashingSink(next: file)
    try hashed.write(header.encoded())
    let tar = try TarWriter(sink: try ZstdCompressor(next: try ChunkEncryptor(key: key, chunkSize: 4096, next: hashed)))
    for item in entries {
      let entry = ArchiveEntry()
      switch item {
      case .directory(let p):
        entry.pathname = p
        entry.set(type: S_IFDIR, permissions: 0o755, uid: 0, gid: 0, user: "", group: "", mtimeSeconds: 0, mtimeNanoseconds: 0, size: 0)
        try tar.writeHeader(entry)
      case .file(let p):
        entry.pathname = p
        entry.setRegularFile(size: 5, permissions: 0o644, mtime: 0)
        try tar.writeHeader(entry)
        try Array("evil\n".utf8).withUnsafeBytes { try tar.writeData($0) }
      case .symlink(let p, let target):
        entry.pathname = p
        entry.setSymlink(target, mtime: 0)
        try tar.writeHeader(entry)
      case .hardlink(let p, let target):
        entry.pathname = p
        entry.setRegularFile(size: 0, permissions: 0o644, mtime: 0)
        entry.hardlink = target
        try tar.writeHeader(entry)
      }
    }
    try tar.finish()
    try file.commit()
    let facts = SealFacts(
      archiveName: "hostile.rehost", archiveSHA256: hashed.digest(), archiveSize: hashed.byteCount,
      manifestSHA256: String(repeating: "0", count: 64), entries: entries.count, contentBytes: Int64(5 * entries.filter { if case .file = $0 { true } else { false } }.count),
      recipients: recipient.sealDescriptions, label: "", sources: ["/srv/ca"], host: "evil", created: "2026-12-01T00:00:00Z",
      sealer: sealer.fingerprint(), tool: "test")
    var seal = Seal(statement: facts.fields())
    try seal.sign(role: "sealer", key: sealer, time: "2026-12-01T00:00:00Z")
    try writeFileAtomically(seal.encoded(), to: path + ".seal")
    return path
  }

  func restore(_ archive: String) throws -> RehostError? {
    let trusted = PublicIdentity(signing: try AsymmetricKey.publicKey(.ed25519, raw: sealer.rawPublicKey()), encryption: nil, path: "sealer.pub")
    let options = RestoreOptions(archive: archive, target: dir + "/inside/target", policy: try TrustPolicy.trusting([trusted]),
                                 identities: [X25519Identity(privateKey: custodian)])
    do {
      _ = try Restore.run(options)
      return nil
    } catch let error as RehostError {
      return error
    }
  }

  /// Nothing at the target, no staging left, nothing written next to `inside/`.
  func expectNothingWritten(sourceLocation: SourceLocation = #_sourceLocation) throws {
    let inside = try FileManager.default.contentsOfDirectory(atPath: dir + "/inside")
    #expect(inside.allSatisfy { $0.hasPrefix("hostile-") }, "\(inside)", sourceLocation: sourceLocation)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["inside"], sourceLocation: sourceLocation)
  }

  @Test(arguments: [
    [Entry.file("../escape.txt")],
    [.file("/tmp/rehost-absolute-escape")],
    [.file("ca/a/../../../escape.txt")],
    [.file("ca/./x")],
    [.file("ca//x")],
    [.file("ca/x"), .symlink("ca/etc", to: "/etc")],
    [.symlink("ca/up", to: "../../escape")],
    [.symlink("ca/deep/up", to: "../x/../../../escape")],
    [.file("ca/x"), .hardlink("ca/h", to: "../escape.txt")],
    [.hardlink("ca/h", to: "/etc/passwd")],
    // Writing through the archive's own symlinks, and chains that escape together.
    [.symlink("ca/l", to: "sub"), .file("ca/l/x")],
    [.symlink("ca/l", to: "sub"), .file("ca/x"), .hardlink("ca/h", to: "ca/l/x")],
    [.symlink("ca/x", to: "l1/../.."), .symlink("ca/l1", to: "sub/deep"), .symlink("ca/sub/deep", to: "../..")],
    [.symlink("ca/a", to: "b"), .symlink("ca/b", to: "a")],
  ])
  func unsafeEntriesAreRefusedAndNothingIsWritten(entries: [Entry]) throws {
    let error = try restore(try archive(entries))
    #expect(error?.kind == .refused, "\(String(describing: error))")
    #expect(error?.message.contains("unsafe archive") == true)
    try expectNothingWritten()
    #expect(!FileManager.default.fileExists(atPath: "/tmp/rehost-absolute-escape"))
  }

  @Test func safeLinksPassThePathRules() throws {
    // Links that stay inside pass the rules; this archive then fails only for lack of a manifest.
    let error = try restore(try archive([
      .directory("ca"), .file("ca/x"), .directory("ca/sub"), .symlink("ca/sub/l", to: "../x"), .hardlink("ca/h", to: "ca/x"),
      .symlink("ca/current", to: "v2"), .symlink("ca/cert.pem", to: "current/cert.pem"),  // a chain that stays inside
    ]))
    #expect(error?.kind == .corrupt && error?.message.contains("no manifest") == true, "\(String(describing: error))")
    try expectNothingWritten()
  }
}

extension HostileArchiveTests.Entry: CustomTestStringConvertible {
  var testDescription: String {
    switch self {
    case .directory(let p): "directory \(p)"
    case .file(let p): "file \(p)"
    case .symlink(let p, let t): "symlink \(p) -> \(t)"
    case .hardlink(let p, let t): "hardlink \(p) -> \(t)"
    }
  }
}
