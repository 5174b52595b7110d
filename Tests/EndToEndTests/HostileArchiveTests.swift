import Foundation
import Testing

/// Archives a hostile sealer could make (an insider, a compromised source host):
/// correctly encrypted and sealed by a trusted key, so every integrity check passes,
/// and built by an independent writer of the format (contrib/python/rehost_format.py),
/// not by rehost. Restore must still refuse them, write nothing outside its target,
/// leave nothing behind, and agree with deep verify on what is valid.
@Suite(.serialized) struct HostileArchiveTests {
  struct Case: Decodable {
    let name: String
    let code: Int32
    let words: String
    let special: Bool
  }

  /// A sandbox with the cases written, and a sentinel directory outside the restore
  /// target that the cases aim at (absolute symlinks, hard links, paths).
  static func prepared() throws -> (Sandbox, [Case]) {
    let box = try Sandbox()
    try box.keygen("sealer", "custodian")
    try box.mustSh("""
      mkdir hostile sentinel && echo victim > sentinel/victim.txt && chmod 0640 sentinel/victim.txt
      python3 '\(packageRoot)/Tests/EndToEndTests/Scripts/hostile_archives.py' hostile sealer.key custodian.pub "$PWD/sentinel"
      """)
    let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: URL(fileURLWithPath: box.path("hostile/cases.json"))))
    #expect(cases.count >= 30)
    return (box, cases)
  }

  /// Everything about the sentinel directory: names, types, modes, owners, sizes, times, content.
  func sentinelState(_ box: Sandbox) throws -> String {
    try box.sh("cd sentinel && find . -printf '%p %y %m %U:%G %s %T@\\n' | sort && cat victim.txt").stdout
  }

  @Test func restoreRefusesEveryOneAndWritesNothingOutside() throws {
    let (box, cases) = try Self.prepared()
    let before = try sentinelState(box)
    for c in cases {
      let restore = try box.rehost("restore", "hostile/\(c.name).rehost", "--to", "target", "--identity", "custodian.key", "--trust", "sealer.pub")
      #expect(restore.status == c.code, "\(c.name): \(restore.output)")
      #expect(restore.stderr.contains(c.words), "\(c.name): \(restore.stderr)")
      #expect(restore.stderr.contains("hint:"), "\(c.name)")
      try box.expectNothingRestored("target")
      #expect(!box.exists(".target.rehost-lock"), "\(c.name): the lock file stayed")
      #expect(try sentinelState(box) == before, "\(c.name) changed the sentinel")
      #expect(!FileManager.default.fileExists(atPath: box.path("escape.txt")) && !FileManager.default.fileExists(atPath: box.dir + "/../escape.txt"))
    }
  }

  @Test func deepVerifyAgreesWithRestore() throws {
    let (box, cases) = try Self.prepared()
    for c in cases {
      let deep = try box.rehost("verify", "hostile/\(c.name).rehost", "--identity", "custodian.key", "--trust", "sealer.pub")
      // Special entries are valid: deep verify names them, restore wants --allow-special.
      #expect(deep.status == (c.special ? 0 : c.code), "\(c.name): \(deep.output)")
      if c.special { #expect(deep.stdout.contains("special entry"), "\(c.name): \(deep.stdout)") }
      // The auditor's check without a key passes: the seal is genuine.
      #expect(try box.rehost("verify", "hostile/\(c.name).rehost", "--trust", "sealer.pub").status == 0, "\(c.name)")
    }
  }

  @Test func theIndependentReaderGivesTheSameVerdicts() throws {
    let (box, cases) = try Self.prepared()
    for c in cases {
      let r = try box.sh("python3 '\(packageRoot)/contrib/python/rehost_format.py' verify hostile/\(c.name).rehost --trust sealer.pub --identity custodian.key")
      #expect(r.status == (c.special ? 0 : c.code), "\(c.name): \(r.output)")
    }
  }

  @Test func specialEntriesRestoreWhenAllowedAndAreNamed() throws {
    let (box, cases) = try Self.prepared()
    for c in cases where c.special {
      if c.name == "device-node" && geteuid() != 0 { continue }  // mknod needs root
      let restore = try box.rehost("restore", "hostile/\(c.name).rehost", "--to", "out-\(c.name)", "--identity", "custodian.key",
                                   "--trust", "sealer.pub", "--allow-special")
      #expect(restore.status == 0, "\(c.name): \(restore.output)")
      #expect(restore.stdout.contains("special entry restored: ca/"), "\(c.name): \(restore.stdout)")
    }
    if geteuid() == 0 {
      try box.mustSh("test -c out-device-node/ca/mem && stat -c '%a %t,%T' out-device-node/ca/mem | grep -qx '666 1,1'")
      try box.mustSh("stat -c %a out-setuid-root/ca/shell | grep -qx 4755 && stat -c %a out-world-writable-directory/ca/drop | grep -qx 777")
      try box.mustSh("python3 -c 'import os,sys; sys.exit(0 if os.getxattr(\"out-file-capabilities/ca/cap\", \"security.capability\") else 1)'")
    }
  }
}
