import Foundation
import Testing

/// Every sealed backup restores: names are stored and restored byte for byte, whatever
/// they hold, trees deeper than PATH_MAX included, and symlinks that lead out of the
/// tree (a Debian /etc/ssl/certs has hundreds) are data, restored as they are.
@Suite(.serialized) struct OddNamesTests {
  func listing(_ box: Sandbox, _ root: String) throws -> String {
    let r = try box.sh("python3 '\(packageRoot)/Tests/EndToEndTests/Scripts/tree_listing.py' '\(root)'")
    #expect(r.status == 0, "\(r.output)")
    return r.stdout
  }

  /// Snapshot, both verifies, restore; the restored tree must equal the source.
  func roundTrip(_ box: Sandbox, source: String, restoredAs name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
    let snap = try box.rehost("snapshot", source, "--out", "a.rehost", "--recipient", "custodian.pub", "--sign", "operator.key")
    #expect(snap.status == 0, "\(snap.output)", sourceLocation: sourceLocation)
    #expect(try box.rehost("verify", "a.rehost", "--trust", "operator.pub").status == 0, sourceLocation: sourceLocation)
    let deep = try box.rehost("verify", "a.rehost", "--trust", "operator.pub", "--identity", "custodian.key")
    #expect(deep.status == 0, "\(deep.output)", sourceLocation: sourceLocation)
    let restore = try box.rehost("restore", "a.rehost", "--to", "out", "--trust", "operator.pub", "--identity", "custodian.key")
    #expect(restore.status == 0, "\(restore.output)", sourceLocation: sourceLocation)
    let python = try box.sh("python3 '\(packageRoot)/contrib/python/rehost_format.py' verify a.rehost --trust operator.pub --identity custodian.key")
    #expect(python.status == 0, "the independent reader: \(python.output)", sourceLocation: sourceLocation)
    #expect(try listing(box, box.path(source)) == listing(box, box.path("out/" + name)), sourceLocation: sourceLocation)
    return snap
  }

  @Test func sourcePathsWithNewlinesTabsAndTrailingSpacesAreEscapedInTheSeal() throws {
    let box = try Sandbox()
    try box.keygen("operator", "custodian")
    try box.mustSh("mkdir -p $'srv/new\\nline\\tand trailing ' && echo key > $'srv/new\\nline\\tand trailing /ca.key.pem'")
    _ = try roundTrip(box, source: "srv/new\nline\tand trailing ", restoredAs: "new\nline\tand trailing ")
    let seal = try String(contentsOfFile: box.path("a.rehost.seal"), encoding: .utf8)
    #expect(seal.contains("Source: \(box.dir)/srv/new\\x0aline\\x09and trailing\\x20\n"), "\(seal)")
    // The auditor's procedure reads the seal with sed: one line per field still holds.
    #expect(seal.split(separator: "\n").filter { $0.hasPrefix("Source: ") }.count == 1)
  }

  @Test func namesInsideATreeAreBytes() throws {
    let box = try Sandbox()
    try box.keygen("operator", "custodian")
    try box.mustSh("""
      mkdir -p src/d && cd src
      printf 1 > $'bad\\xff\\xfename' && printf 2 > $'new\\nline' && printf 3 > 'back\\slash' && printf 4 > $'tab\\there'
      printf 5 > $'caf\\xc3\\xa9' && printf 6 > $'cafe\\xcc\\x81'   # the same text composed and decomposed: two files
      printf 7 > 'trailing ' && printf 8 > ' leading' && printf 9 > $'\\xe2\\x80\\xaeevil' && mkdir $'d/\\x01ctl'
      ln -s $'bad\\xff\\xfename' $'link\\xff' && ln $'new\\nline' 'hard link'
      """)
    _ = try roundTrip(box, source: "src", restoredAs: "src")
    #expect(try listing(box, box.path("out/src")).split(separator: "\n").count == 15)
    // The manifest lists them byte for byte; a sha256sum list checks them.
    let export = try box.rehost("manifest", "export", "a.rehost", "--identity", "custodian.key", "--format", "sha256sum", "--out", "sums")
    #expect(export.status == 0, "\(export.output)")
    try box.mustSh("cd out && sha256sum --quiet -c ../sums")
  }

  @Test func treesDeeperThanPathMaxRoundTrip() throws {
    let box = try Sandbox()
    try box.keygen("operator", "custodian")
    // 40 levels of 200-byte names: paths of about 8 KB, twice PATH_MAX; more levels than
    // the writer keeps descriptors open for.
    try box.mustSh("""
      mkdir src && cd src && n=$(printf 'd%.0s' $(seq 200))
      for i in $(seq 70); do mkdir "$i$n" && cd "$i$n" || exit 1; done
      echo deep > bottom.key && ln -s "../../$i$n" up && cd ..
      """)
    _ = try roundTrip(box, source: "src", restoredAs: "src")
    try box.mustSh("find out/src -name bottom.key | grep -q . && test $(find out/src -name bottom.key | head -1 | wc -c) -gt 4096")
  }

  /// The walker opens the next files of a directory ahead of their turn (so that a cold
  /// cache reads several at once): a deep tree of full directories still round trips under
  /// a low limit of open descriptors, and a hard link opened ahead is still stored as a link.
  @Test func filesOpenedAheadOfTheWalkRoundTripUnderALowDescriptorLimit() throws {
    let box = try Sandbox()
    try box.keygen("operator", "custodian")
    try box.mustSh("""
      mkdir src && cd src
      for i in $(seq 30); do
        for f in $(seq 40); do echo "a $i $f" > a$f; echo "z $i $f" > z$f; done
        ln a1 z-link && mkdir m && cd m || exit 1
      done
      """)
    let snap = try box.sh("""
      ulimit -n 100 && '\(rehostBinary)' snapshot src --out a.rehost --recipient custodian.pub --sign operator.key --quiet
      """)
    #expect(snap.status == 0, "\(snap.output)")
    let restore = try box.rehost("restore", "a.rehost", "--to", "out", "--trust", "operator.pub", "--identity", "custodian.key")
    #expect(restore.status == 0, "\(restore.output)")
    #expect(try listing(box, box.path("src")) == listing(box, box.path("out/src")))
    // Each z-link is restored as a second name of its a1.
    let links = try box.sh("find out/src -name z-link -links 2 | while read l; do [ \"$l\" -ef \"${l%z-link}a1\" ] && echo; done | wc -l")
    #expect(links.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "30", "\(links.output)")
  }

  @Test func symlinksLeadingOutOfTheTreeAreRestoredAsTheyAre() throws {
    let box = try Sandbox()
    try box.keygen("operator", "custodian")
    try box.mustSh("""
      mkdir -p srv/ssl/certs && cd srv/ssl/certs && echo pem > local.pem
      ln -s /usr/share/ca-certificates/mozilla/Example.crt Example.pem && ln -s Example.pem 1a2b3c4d.0
      ln -s ../../../../outside up && ln -s / root && ln -s local.pem ok
      """)
    _ = try roundTrip(box, source: "srv/ssl", restoredAs: "ssl")
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: box.path("out/ssl/certs/Example.pem")) == "/usr/share/ca-certificates/mozilla/Example.crt")
  }

  @Test func aRealSystemTreeRoundTrips() throws {
    // Debian's /etc/ssl: certificate symlinks by the hundred, absolute and relative.
    guard FileManager.default.fileExists(atPath: "/etc/ssl/certs") else { return }
    let box = try Sandbox()
    try box.keygen("operator", "custodian")
    try box.mustSh("cp -a /etc/ssl etc-ssl")
    _ = try roundTrip(box, source: "etc-ssl", restoredAs: "etc-ssl")
    let symlinks = try box.sh("find out/etc-ssl -type l | wc -l").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect((Int(symlinks) ?? 0) > 100, "\(symlinks) symlinks")
  }
}
