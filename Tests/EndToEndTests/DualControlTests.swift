import Foundation
import Testing

/// Witnessed seals: countersignatures, trust policies, bag serials.
@Suite(.serialized) struct WitnessTests {
  static let policy = """
    # who may sign, as what
    trust operator.pub as sealer, operator
    trust auditor.pub as auditor
    trust isp.pub as isp-witness person isp-nl
    # what a seal needs
    require sealer
    require auditor
    require 2 people
    """

  static func prepared() throws -> Sandbox {
    let box = try Sandbox()
    try box.keygen("operator", "auditor", "isp", "stranger", "custodian")
    try box.mustSh("mkdir -p srv/ca && echo key > srv/ca/ca.key && chmod 600 srv/ca/ca.key")
    try box.write("policy.txt", Array(policy.utf8))
    let snap = try box.rehost("snapshot", "srv/ca", "--out", "ca.rehost", "--recipient", "custodian.pub", "--sign", "operator.key")
    #expect(snap.status == 0, "\(snap.output)")
    return box
  }

  @Test func aMissingRoleFailsWithThePolicyCodeAndCountersigningMeetsIt() throws {
    let box = try Self.prepared()
    let alone = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt")
    #expect(alone.status == 7, "\(alone.output)")
    #expect(alone.stderr.contains("auditor: 0 of 1"), "\(alone.stderr)")
    let restore = try box.rehost("restore", "ca.rehost", "--to", "out", "--identity", "custodian.key", "--policy", "policy.txt")
    #expect(restore.status == 7, "\(restore.output)")
    try box.expectNothingRestored("out")

    // A key outside the policy signing as auditor does not count.
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "stranger.key", "--role", "auditor").status == 0)
    let stranger = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt")
    #expect(stranger.status == 7, "\(stranger.output)")
    #expect(stranger.stdout.isEmpty || !stranger.stdout.contains("OK"))

    let sign = try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor",
                              "--bag", "BAG-0001", "--bag", "DISK-SEAL-77", "--note", "sealed in the Vienna server room")
    #expect(sign.status == 0, "\(sign.output)")
    let met = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt")
    #expect(met.status == 0, "\(met.output)")
    #expect(met.stdout.contains("signature 1: sealer"))
    #expect(met.stdout.contains("signature 2: auditor") && met.stdout.contains("not counted: key not trusted"))
    #expect(met.stdout.contains("signature 3: auditor") && met.stdout.contains("valid, counted (auditor.pub)"))
    #expect(met.stdout.contains("bag serial: BAG-0001"))
    #expect(met.stdout.contains("policy.txt met"))
    let restored = try box.rehost("restore", "ca.rehost", "--to", "out", "--identity", "custodian.key", "--policy", "policy.txt")
    #expect(restored.status == 0, "\(restored.output)")

    // The statement itself is untouched by countersigning.
    try box.mustSh("sed -n '1,/END REHOST SEAL STATEMENT/p' ca.rehost.seal | grep -q '^Sealer: '")
  }

  @Test func bagSerialsMustMatchOnArrival() throws {
    let box = try Self.prepared()
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor", "--bag", "BAG-0001").status == 0)
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "isp.key", "--role", "isp-witness", "--bag", "DISK-77").status == 0)
    let same = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt", "--expect-bag", "DISK-77", "--expect-bag", "BAG-0001")
    #expect(same.status == 0, "\(same.output)")
    let other = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt", "--expect-bag", "BAG-0002", "--expect-bag", "DISK-77")
    #expect(other.status == 7 && other.stderr.contains("bag serials differ"), "\(other.output)")
    let missing = try box.rehost("restore", "ca.rehost", "--to", "out", "--identity", "custodian.key", "--policy", "policy.txt",
                                 "--expect-bag", "BAG-0001")
    #expect(missing.status == 7, "\(missing.output)")
    try box.expectNothingRestored("out")
  }

  @Test func anAlteredCountersignatureIsNamed() throws {
    let box = try Self.prepared()
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor", "--bag", "BAG-0001").status == 0)
    try box.mustSh("cp ca.rehost.seal good.seal && sed -i 's/^Bag: BAG-0001$/Bag: BAG-0009/' ca.rehost.seal && ! cmp -s good.seal ca.rehost.seal")
    let altered = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt")
    #expect(altered.status == 4, "\(altered.output)")
    #expect(altered.stderr.contains("signature 2 (auditor"), "\(altered.stderr)")
    // A signature block copied from another archive's seal names another statement.
    try box.mustSh("cp good.seal ca.rehost.seal")
    #expect(try box.rehost("snapshot", "srv/ca", "--out", "b.rehost", "--recipient", "custodian.pub", "--sign", "operator.key").status == 0)
    #expect(try box.rehost("seal", "sign", "b.rehost", "--key", "isp.key", "--role", "isp-witness").status == 0)
    try box.mustSh("sed -n '/^-----BEGIN REHOST SIGNATURE-----$/,/^-----END REHOST SIGNATURE-----$/p' b.rehost.seal | tail -n 7 >> ca.rehost.seal")
    let grafted = try box.rehost("verify", "ca.rehost", "--policy", "policy.txt")
    #expect(grafted.status == 4 && grafted.stderr.contains("signature 3 (isp-witness") && grafted.stderr.contains("different statement"), "\(grafted.output)")
  }

  @Test func witnessesOnlySignWhatMatchesAndShowPrintsForPaper() throws {
    let box = try Self.prepared()
    try box.mustSh("cp ca.rehost good.rehost && printf 'X' | dd of=ca.rehost bs=1 seek=500 conv=notrunc 2>/dev/null")
    let refused = try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor")
    #expect(refused.status == 3, "\(refused.output)")
    try box.mustSh("cp good.rehost ca.rehost")
    #expect(try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor").status == 0)
    let twice = try box.rehost("seal", "sign", "ca.rehost", "--key", "auditor.key", "--role", "auditor")
    #expect(twice.status == 6, "\(twice.output)")
    let show = try box.rehost("seal", "show", "ca.rehost")
    #expect(show.status == 0, "\(show.output)")
    let digest = try box.sh("sha256sum ca.rehost | cut -c1-8").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(show.stdout.contains("archive SHA-256:   \(digest.prefix(4)) \(digest.dropFirst(4))"), "\(show.stdout)")
    #expect(show.stdout.contains("signature 2 (auditor) key:"))
    let bad = try box.rehost("seal", "sign", "ca.rehost", "--key", "isp.key", "--role", "Not A Role")
    #expect(bad.status == 2, "\(bad.output)")
  }

  @Test func malformedPoliciesAreUsageErrors() throws {
    let box = try Self.prepared()
    for text in ["trust operator.pub\n", "require\n", "frobnicate\n", "trust missing.pub as auditor\n", "# nothing\n"] {
      try box.write("bad.txt", Array(text.utf8))
      let r = try box.rehost("verify", "ca.rehost", "--policy", "bad.txt")
      #expect(r.status == 2, "\(text): \(r.output)")
    }
  }
}
