import Foundation
import Testing

/// Restores as they happen on a real move: onto a freshly mounted disk, into a directory
/// that holds more than the archive, as a user other than root.
@Suite("Restore placement (mount points, siblings, owners)", .serialized)
struct RestorePlacementTests {
  func sampleArchive(_ box: Sandbox, sources: String = "srv/ca", inventory: Bool = false) throws {
    try box.keygen("op")
    try box.mustSh("'\(packageRoot)/scripts/make-sample-ca.sh' srv/ca >/dev/null 2>&1 && mkdir -p srv/db && echo rows > srv/db/ca.sql"
                   + (inventory ? " && '\(packageRoot)/scripts/make-sample-web-db.sh' srv/web/ca-web.sqlite" : ""))
    let snap = inventory
      ? try box.rehost("snapshot", "--inventory", packageRoot + "/manifests/sample-ca.yaml", "--root", box.dir, "--out", "a.rehost",
                       "--recipient", "op.pub", "--sign", "op.key")
      : try box.rehost(["snapshot"] + sources.split(separator: " ").map(String.init) + ["--out", "a.rehost", "--recipient", "op.pub", "--sign", "op.key"])
    #expect(snap.status == 0, "\(snap.output)")
  }

  func restore(_ box: Sandbox, _ extra: String...) throws -> RunResult {
    try box.rehost(["restore", "a.rehost", "--identity", "op.key", "--trust", "op.pub"] + extra)
  }

  /// A tmpfs mounted at `name` for the test's lifetime (the test runs as root).
  func mount(_ box: Sandbox, _ name: String, options: String = "size=64m") throws -> Bool {
    let r = try box.sh("mkdir -p \(name) && mount -t tmpfs -o \(options) tmpfs \(name)")
    return r.status == 0
  }

  @Test("a restore onto a freshly mounted disk (empty, then with --force) fills the mount point")
  func ontoAMountPoint() throws {
    let box = try Sandbox()
    try sampleArchive(box)
    try #require(try mount(box, "mnt"), "cannot mount a tmpfs here")
    defer { _ = try? box.sh("umount -l mnt") }
    let first = try restore(box, "--to", "mnt")
    #expect(first.status == 0, "\(first.output)")
    try box.mustSh("diff -r srv/ca mnt/ca && mountpoint -q mnt")
    // Again, over the first restore, beside something else on the disk.
    try box.mustSh("mkdir mnt/lost+found && echo changed > mnt/ca/serial")
    let again = try restore(box, "--to", "mnt", "--force")
    #expect(again.status == 0, "\(again.output)")
    #expect(again.stdout.contains("replaced ca/ in \(box.path("mnt")); its other 1 entries were kept"), "\(again.stdout)")
    try box.mustSh("diff -r srv/ca mnt/ca && test -d mnt/lost+found && mountpoint -q mnt")
    let left = try box.sh("ls -A mnt")
    #expect(left.stdout == "ca\nlost+found\n", "\(left.stdout)")
  }

  @Test("a target that cannot be written fails before anything is decrypted")
  func unwritableTargetFailsFirst() throws {
    let box = try Sandbox()
    try sampleArchive(box)
    try #require(try mount(box, "ro", options: "size=8m,ro"), "cannot mount a tmpfs here")
    defer { _ = try? box.sh("umount -l ro") }
    // With the wrong key, a restore that decrypted first would fail on the key (exit 5).
    try box.keygen("stranger")
    let r = try box.rehost("restore", "a.rehost", "--identity", "stranger.key", "--trust", "op.pub", "--to", "ro")
    #expect(r.status == 1, "\(r.output)")
    #expect(r.stderr.contains("cannot create a staging directory in \(box.path("ro")): Read-only file system"), "\(r.stderr)")
    #expect(r.stderr.contains("nothing was decrypted"), "\(r.stderr)")
    // A disk mounted inside the target where the archive's source would go is refused, also before decrypting.
    try box.mustSh("mkdir -p host/ca")
    try #require(try mount(box, "host/ca"))
    defer { _ = try? box.sh("umount -l host/ca") }
    let inner = try box.rehost("restore", "a.rehost", "--identity", "stranger.key", "--trust", "op.pub", "--to", "host", "--force")
    #expect(inner.status == 6, "\(inner.output)")
    #expect(inner.stderr.contains("\(box.path("host"))/ca is a mount point"), "\(inner.stderr)")
  }

  @Test("--force next to unrelated directories replaces only the archive's sources")
  func forceKeepsSiblings() throws {
    let box = try Sandbox()
    try sampleArchive(box, sources: "srv/ca srv/db")
    try box.mustSh("mkdir -p target/ca target/www target/backups && echo old > target/ca/old && echo site > target/www/index.html && echo b > target/backups/b1")
    let refused = try restore(box, "--to", "target")
    #expect(refused.status == 6, "\(refused.output)")
    #expect(refused.stderr.contains("pass --force to replace ca/ there with the archive's"), "\(refused.stderr)")
    #expect(refused.stderr.contains("the other 2 entries are kept"), "\(refused.stderr)")
    let forced = try restore(box, "--to", "target", "--force")
    #expect(forced.status == 0, "\(forced.output)")
    try box.mustSh("diff -r srv/ca target/ca && diff -r srv/db target/db && test ! -e target/ca/old")
    try box.mustSh("test \"$(cat target/www/index.html)\" = site && test \"$(cat target/backups/b1)\" = b")
    #expect(forced.stdout.contains("replaced ca/ in \(box.path("target")); its other 2 entries were kept"), "\(forced.stdout)")
    let left = try box.sh("ls -A target; ls -A .")
    #expect(!left.stdout.contains("staging"), "\(left.stdout)")
    // A directory holding none of the sources: the hint says --force adds them.
    try box.mustSh("mkdir -p other && echo x > other/x")
    let other = try restore(box, "--to", "other")
    #expect(other.stderr.contains("pass --force to add ca/, db/ beside the 1 entries there, which are kept"), "\(other.stderr)")
  }

  @Test("a restore killed between its swaps is finished by the next restore of the target")
  func interruptedSwapsAreFinished() throws {
    let box = try Sandbox()
    try sampleArchive(box)
    // What a run killed after its first of two exchanges leaves: ca/ already swapped
    // in (the old one in staging), db/ still staged, the plan naming both by inode.
    try box.mustSh("""
      set -e
      mkdir -p target/.restore.rehost-staging-999999-x/db target/.restore.rehost-staging-999999-x/ca target/ca
      echo new > target/ca/new; echo old > target/.restore.rehost-staging-999999-x/ca/old
      echo newdb > target/.restore.rehost-staging-999999-x/db/f
      hex() { printf %s "$1" | od -An -tx1 | tr -d ' \\n'; }
      { echo "$(stat -c %i target/ca) $(hex ca)"; echo "$(stat -c %i target/.restore.rehost-staging-999999-x/db) $(hex db)"; } > target/.restore.rehost-staging-999999-x/.rehost-commit-plan
      """)
    try box.keygen("stranger")
    // Even a restore that then fails (a key that does not open the archive) finishes the commit first.
    let r = try box.rehost("restore", "a.rehost", "--identity", "stranger.key", "--trust", "op.pub", "--to", "target", "--force")
    #expect(r.status == 5, "\(r.output)")
    try box.mustSh("test \"$(cat target/ca/new)\" = new && test \"$(cat target/db/f)\" = newdb && test -z \"$(ls -A target | grep staging)\"")
  }

  @Test("as a user other than root: secret material is refused unless --no-owners, and the lost owners are named")
  func nonRootRestore() throws {
    let box = try Sandbox()
    try sampleArchive(box, inventory: true)
    try box.mustSh("chmod 755 \(box.dir) && chmod 644 op.key a.rehost a.rehost.seal op.pub && mkdir -m 777 place")
    func asNobody(_ args: String) throws -> RunResult {
      try box.sh("setpriv --reuid=65534 --regid=65534 --clear-groups '\(rehostBinary)' restore a.rehost --identity op.key --trust op.pub \(args)")
    }
    let refused = try asNobody("--to place/out")
    #expect(refused.status == 6, "\(refused.output)")
    #expect(refused.stderr.contains("restoring as uid 65534, not root: the archive's secret material (ca/private/ca.key.pem"), "\(refused.stderr)")
    #expect(refused.stderr.contains("instead of its owners 0:0"), "\(refused.stderr)")
    #expect(refused.stderr.contains("--no-owners"), "\(refused.stderr)")
    #expect(!box.exists("place/out"))
    let allowed = try asNobody("--to place/out --no-owners")
    #expect(allowed.status == 0, "\(allowed.output)")
    #expect(allowed.stderr.contains("warning: owners were left to the restorer (--no-owners): entries of 0:0"), "\(allowed.stderr)")
    #expect(allowed.stderr.contains("now belong to 65534:65534"), "\(allowed.stderr)")
    try box.mustSh("test \"$(stat -c %u place/out/ca/private/ca.key.pem)\" = 65534 && diff -r srv/ca place/out/ca")
  }
}
