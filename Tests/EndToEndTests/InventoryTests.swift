import Foundation
import Testing

@Suite("Inventory (manifests/)")
struct InventoryTests {
  /// The sample CA host of `make demo`: the sample CA under srv/ca, its web database under srv/web.
  func makeSampleHost(_ box: Sandbox) throws {
    try box.mustSh("""
      '\(packageRoot)/scripts/make-sample-ca.sh' srv/ca >/dev/null 2>&1
      '\(packageRoot)/scripts/make-sample-web-db.sh' srv/web/ca-web.sqlite
      """)
  }

  func snapshot(_ box: Sandbox, _ inventory: String, out: String = "s.rehost") throws -> RunResult {
    try box.rehost("snapshot", "--inventory", inventory, "--root", box.dir, "--out", out, "--recipient", "op.pub", "--sign", "op.key")
  }

  @Test("the shipped sample inventory captures the sample CA and its database; both restore whole")
  func sampleInventory() throws {
    let box = try Sandbox()
    try box.keygen("op")
    try makeSampleHost(box)
    let snap = try snapshot(box, packageRoot + "/manifests/sample-ca.yaml")
    #expect(snap.status == 0, "\(snap.output)")
    #expect(!snap.stderr.contains("warning"), "\(snap.stderr)")
    let restore = try box.rehost("restore", "s.rehost", "--identity", "op.key", "--trust", "op.pub", "--to", "out", "--db", "web=sqlite:web.sqlite")
    #expect(restore.status == 0, "\(restore.output)")
    #expect(restore.stdout.contains("certificates: 6000 rows, checksum equal"), "\(restore.stdout)")
    try box.mustSh("diff -r srv/ca out/ca")
    // The manifest names the secret key material, as archive paths.
    let verify = try box.rehost("verify", "s.rehost", "--identity", "op.key", "--trust", "op.pub")
    #expect(verify.status == 0, "\(verify.output)")
    #expect(verify.stdout.contains("secret key material (inventory): ca/private/ca.key.pem, ca/intermediate/private/"), "\(verify.stdout)")
    #expect(verify.stdout.contains("database web: sqlite-backup of SQLite"), "\(verify.stdout)")
    // Checksum lists cover the restored tree, not the database dump.
    let exported = try box.sh("'\(rehostBinary)' manifest export s.rehost --identity op.key --format sha256sum > sums && cd out && sha256sum -c --quiet ../sums")
    #expect(exported.status == 0, "\(exported.output)")
    #expect(try !box.sh("cat sums").stdout.contains(".rehost/"))
  }

  @Test("a missing required item stops the snapshot before anything is written, naming each item")
  func missingRequired() throws {
    let box = try Sandbox()
    try box.keygen("op")
    try makeSampleHost(box)
    try box.mustSh("rm srv/ca/serial srv/ca/intermediate/private/*.key.pem")
    let snap = try snapshot(box, packageRoot + "/manifests/sample-ca.yaml")
    #expect(snap.status == 6, "\(snap.output)")
    #expect(snap.stderr.contains("srv/ca/serial is missing"), "\(snap.stderr)")
    #expect(snap.stderr.contains("srv/ca/intermediate/private/*.key.pem (issuing CA and server keys) is missing"), "\(snap.stderr)")
    #expect(try box.sh("ls -A | grep -c rehost || true").stdout == "0\n")
  }

  @Test("secret key material readable by others is reported; the snapshot still runs")
  func secretModes() throws {
    let box = try Sandbox()
    try box.keygen("op")
    try makeSampleHost(box)
    try box.mustSh("chmod 644 srv/ca/private/ca.key.pem")
    let snap = try snapshot(box, packageRoot + "/manifests/sample-ca.yaml")
    #expect(snap.status == 0, "\(snap.output)")
    #expect(snap.stderr.contains("ca.key.pem is secret key material but readable by group or others (mode 644)"), "\(snap.stderr)")
  }

  @Test("malformed inventories are refused with the line at fault", arguments: [
    ("inventory: 1\nsources:\n  - path: srv/ca\n    excludes: [x]\n", "inventory.yaml:4: unknown key `excludes`"),
    ("inventory: 2\nsources: []\n", "the first key must be `inventory: 1`"),
    ("inventory: 1\nsources:\n  - path: srv/ca\nrequired:\n  - path: /etc/passwd\n", "none of its sources captures it"),
    ("inventory: 1\nsources: [ {path: srv/ca\n", "is not valid YAML"),
    ("inventory: 1\nsources:\n  - database: oracle:x\n", "is not a database location"),
    ("inventory: 1\nsources:\n  - path: srv/ca\n    roles: true\n", "inventory.yaml:4: `roles:` goes with a `database:` source"),
    ("inventory: 1\nsources:\n  - database: sqlite:srv/web.db\n    roles: true\n", "SQLite has no roles"),
    ("inventory: 1\nsources:\n  - database: postgres:dbname=ca\n    roles: maybe\n", "`roles:` is true or false"),
  ])
  func malformed(text: String, message: String) throws {
    let box = try Sandbox()
    try box.keygen("op")
    try makeSampleHost(box)
    try box.write("inventory.yaml", Array(text.utf8))
    let snap = try snapshot(box, box.path("inventory.yaml"))
    #expect(snap.status == 2, "\(snap.output)")
    #expect(snap.stderr.contains(message), "\(snap.stderr)")
  }

  @Test("the production template parses and names what this machine lacks")
  func template() throws {
    let box = try Sandbox()
    try box.keygen("op")
    let snap = try box.rehost("snapshot", "--inventory", packageRoot + "/manifests/ca-host.yaml", "--out", "s.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 6, "\(snap.output)")
    #expect(snap.stderr.contains("source /etc/ca-signer is missing"), "\(snap.stderr)")
  }

  @Test("a host laid out as the production template says is captured whole; a GnuPG home's sockets are said once")
  func templateOnAHost() throws {
    let box = try Sandbox()
    try box.keygen("op")
    let root = box.path("host")
    // The template, moved under `host/` and without its database (the database tests cover those).
    let template = try String(contentsOfFile: packageRoot + "/manifests/ca-host.yaml", encoding: .utf8)
    var lines: [String] = []
    var inDatabase = false
    for line in template.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("  - database:") { inDatabase = true; continue }
      if inDatabase && line.hasPrefix("    ") { continue }
      inDatabase = false
      lines.append(line.replacingOccurrences(of: " /", with: " \(root)/").replacingOccurrences(of: "\"/", with: "\"\(root)/"))
    }
    try box.write("ca-host.yaml", Array(lines.joined(separator: "\n").utf8))
    try box.makeSampleCA(at: "host/etc/ssl/ca")
    try box.mustSh("""
      set -e
      cd host
      mkdir -p etc/ssl/ca/private etc/ssl/ca/crl etc/ca-signer home/signer/.gnupg/private-keys-v1.d var/backups/hsm \\
        etc/apache2/ssl etc/apache2/sites-enabled var/www/cacert/tmp etc/cron.d etc/systemd/system var/log/ca-signer var/log/journal
      [ -e etc/ssl/ca/private/ca.key.pem ] || cp "$(ls etc/ssl/ca/private/*.pem | head -1)" etc/ssl/ca/private/ca.key.pem
      [ -e etc/ssl/ca/certs/ca.cert.pem ] || { mkdir -p etc/ssl/ca/certs; cp "$(ls etc/ssl/ca/certs/*.pem | head -1)" etc/ssl/ca/certs/ca.cert.pem; }
      [ -e etc/ssl/ca/crl/ca.crl.pem ] || echo crl > etc/ssl/ca/crl/ca.crl.pem
      [ -e etc/ssl/ca/index.txt ] || touch etc/ssl/ca/index.txt; [ -e etc/ssl/ca/serial ] || echo 1000 > etc/ssl/ca/serial
      echo 'signer = on' > etc/ca-signer/signer.conf
      echo key > home/signer/.gnupg/private-keys-v1.d/0123.key && echo ring > home/signer/.gnupg/pubring.kbx
      head -c 4096 /dev/urandom > var/backups/hsm/key_pkcs11_ua1.blob
      echo '<VirtualHost *:443>' > etc/apache2/sites-enabled/cacert.conf && echo key > etc/apache2/ssl/www.key
      echo '<?php' > var/www/cacert/index.php && echo session > var/www/cacert/tmp/sess_1
      echo '5 * * * * root /usr/local/bin/publish-crl' > etc/cron.d/ca-crl
      printf '[Service]\\nExecStart=/usr/local/sbin/ca-signer\\n' > etc/systemd/system/ca-signer.service
      echo 'signed 1' > var/log/ca-signer/signer.log && echo binary > var/log/journal/system.journal
      chmod -R go-rwx home/signer var/backups/hsm etc/ssl/ca/private etc/apache2/ssl
      cd home/signer/.gnupg
      python3 -c 'import socket, sys
      for name in ["S.gpg-agent", "S.gpg-agent.ssh", "S.gpg-agent.extra"]:
          socket.socket(socket.AF_UNIX).bind(name)'
      """)
    let snap = try box.rehost("snapshot", "--inventory", "ca-host.yaml", "--out", "h.rehost", "--recipient", "op.pub", "--sign", "op.key")
    #expect(snap.status == 0, "\(snap.output)")
    let socketLines = snap.stderr.split(separator: "\n").filter { $0.contains("socket") }
    #expect(socketLines.count == 1 && socketLines[0].contains("skipped 3 sockets") && socketLines[0].contains("S.gpg-agent.ssh"), "\(snap.stderr)")
    let restore = try box.rehost("restore", "h.rehost", "--trust", "op.pub", "--identity", "op.key", "--to", "out", "--json")
    #expect(restore.status == 0, "\(restore.output)")
    let report = try JSONSerialization.jsonObject(with: Data(restore.stdout.utf8)) as? [String: Any]
    let secrets = ((report?["content"] as? [String: Any])?["secrets"] as? [String]) ?? []
    #expect(secrets.contains { $0.hasSuffix("hsm/key_pkcs11_ua1.blob") } && secrets.contains { $0.hasSuffix("private-keys-v1.d") }, "\(secrets)")
    try box.mustSh("""
      set -e
      cmp host/var/backups/hsm/key_pkcs11_ua1.blob out/hsm/key_pkcs11_ua1.blob
      test -f out/system/ca-signer.service && test ! -e out/log/journal
      test -f out/cron.d/ca-crl && test -f out/log/ca-signer/signer.log && test -f out/ca-signer/signer.conf && test -f out/cacert/index.php && test -f out/apache2/sites-enabled/cacert.conf
      test ! -e out/cacert/tmp && test ! -e out/.gnupg/S.gpg-agent && test -f out/.gnupg/private-keys-v1.d/0123.key
      """)
  }

}
