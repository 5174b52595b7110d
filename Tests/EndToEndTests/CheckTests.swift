import Foundation
import Testing

/// `rehost check`: Debian weak keys and other broken keys and certificates.
@Suite struct CheckTests {
  static let sample = packageRoot + "/testdata/debian-weak-sample"

  @Test func everySampleWeakKeyIsFlaggedAndNoStrongKeyIs() throws {
    let box = try Sandbox()
    let r = try box.rehost("check", Self.sample, "--blocklist", Self.sample, "--no-standard-blocklists")
    #expect(r.status == 1, "\(r.stderr)")
    let flagged = Set(r.stdout.split(separator: "\n").filter { $0.contains("Debian weak key") }
      .map { String($0.split(separator: " ", omittingEmptySubsequences: true)[1].split(separator: ":")[0]) })
    let weak = try FileManager.default.contentsOfDirectory(atPath: Self.sample).filter { $0.hasSuffix(".pem") }
    #expect(weak.count == 90)
    #expect(flagged == Set(weak.map { Self.sample + "/" + $0 }))
    #expect(!r.stdout.contains("strong/strong-rsa2048-01.pem:1: RSA-2048 private key: Debian"))
    #expect(!flagged.contains { $0.contains("/strong/") || $0.contains("/reference/") })
    // No other finding is an error: ordinary keys trip none of the list-free checks (ROCA, Fermat, ...).
    #expect(r.stdout.split(separator: "\n").filter { $0.hasPrefix("ERROR") && !$0.contains("Debian weak key") }.isEmpty, "\(r.stdout)")
  }

  @Test func withoutABlocklistTheCheckSaysItDidNotRun() throws {
    let box = try Sandbox()
    let r = try box.rehost("check", Self.sample + "/strong", "--no-standard-blocklists")
    #expect(r.status == 0, "\(r.output)")
    #expect(r.stdout.contains("the Debian weak-key check did not run") && r.stdout.contains("openssl-blacklist"), "\(r.stdout)")
    let strict = try box.rehost("check", Self.sample + "/strong", "--no-standard-blocklists", "--fail-on", "warning")
    #expect(strict.status == 1)
    let json = try box.rehost("check", Self.sample + "/strong", "--no-standard-blocklists", "--format", "json")
    #expect(json.status == 0)
    try box.write("out.json", Array(json.stdout.utf8))
    try box.mustSh("""
      python3 -c 'import json; d = json.load(open("out.json")); assert d["keys"] == 4 and d["debian_blocklists"] == {}; \
      assert any("did not run" in f["problem"] for f in d["findings"])'
      """)
    #expect(try box.rehost("check", "no-such-dir").status == 2)
    #expect(try box.rehost("check", Self.sample, "--blocklist", "no-such-dir").status == 2)
  }

  @Test func brokenKeysAndCertificatesAreFlaggedAndTheSampleCAIsClean() throws {
    let box = try Sandbox()
    try box.mustSh("'\(packageRoot)/scripts/make-sample-ca.sh' ca >/dev/null")
    let clean = try box.rehost("check", "ca", "--blocklist", Self.sample, "--no-standard-blocklists")
    #expect(clean.status == 0, "\(clean.output)")
    #expect(!clean.stdout.contains("ERROR"), "\(clean.stdout)")
    try box.mustSh("""
      set -e
      mkdir bad
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out bad/tiny.pem 2>/dev/null
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3 -out bad/e3.pem 2>/dev/null
      openssl pkey -in bad/tiny.pem -pubout -out bad/tiny.pub.pem
      cd ca/intermediate
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ../../bad/old.key 2>/dev/null
      openssl req -new -key ../../bad/old.key -subj /CN=expired.example-ca.org -out ../../bad/old.csr
      openssl ca -batch -config openssl.cnf -extensions server_cert -startdate 20200101000000Z -enddate 20210101000000Z \\
        -in ../../bad/old.csr -out ../../bad/expired.cert.pem 2>/dev/null
      """)
    let r = try box.rehost("check", "bad", "--blocklist", Self.sample, "--no-standard-blocklists")
    #expect(r.status == 1, "\(r.output)")
    #expect(r.stdout.contains("bad/tiny.pem:1: RSA-512 private key: 512-bit RSA is broken"), "\(r.stdout)")
    #expect(r.stdout.contains("bad/tiny.pub.pem:1: RSA-512 public key: 512-bit RSA is broken"))
    #expect(r.stdout.contains("bad/e3.pem:1: RSA-2048 private key: small public exponent 3"))
    #expect(r.stdout.contains("certificate /CN=expired.example-ca.org: expired on 2021-01-01"), "\(r.stdout)")
    #expect(r.stdout.contains("RSA-512 keys: the Debian weak-key check did not run"))
  }
}

/// CA consistency: each problem flagged item by item.
@Suite struct CAConsistencyTests {
  @Test func aDamagedCADirectoryIsFlaggedItemByItem() throws {
    let box = try Sandbox()
    try box.mustSh("""
      set -e
      '\(packageRoot)/scripts/make-sample-ca.sh' ca >/dev/null
      cd ca/intermediate
      # A certificate revoked after the last CRL was made, then a stale CRL for the root.
      openssl ca -config openssl.cnf -revoke certs/ocsp.example-ca.org.cert.pem 2>/dev/null
      cd .. && openssl ca -config openssl.cnf -gencrl -crl_lastupdate 20200101000000Z -crl_nextupdate 20200201000000Z -out crl/ca.crl.pem 2>/dev/null
      cd intermediate
      rm newcerts/1000.pem                  # a valid certificate's file is gone
      chmod 640 private/www.example-ca.org.key.pem
      echo 0FFF > serial                    # behind the index
      """)
    let r = try box.rehost("check", "ca", "--blocklist", CheckTests.sample, "--no-standard-blocklists")
    #expect(r.status == 1, "\(r.output)")
    let out = r.stdout
    #expect(out.contains("valid certificate 1000 (/CN=www.example-ca.org) has no file in"), "\(out)")
    #expect(out.contains("ca/intermediate/serial:1: CA ") && out.contains("next serial FFF is not above the highest issued serial 1002"), "\(out)")
    #expect(out.contains("revoked certificate 1001 (/CN=ocsp.example-ca.org) is missing from the CRL"), "\(out)")
    #expect(out.contains("ca/crl/ca.crl.pem: CA ") && out.contains("stale: its next update was due 2020-02-01"), "\(out)")
    #expect(out.contains("www.example-ca.org.key.pem: CA ") && out.contains("mode 0640: readable by group or others"), "\(out)")
    // Nothing else is wrong with it.
    #expect(out.components(separatedBy: "\nERROR").count - 1 + (out.hasPrefix("ERROR") ? 1 : 0) == 5, "\(out)")
  }
}

/// DSA keys (Debian's bug made weak DSA keys too): looked up in DSA lists, as PEM and as
/// OpenSSH keys. No genuine weak DSA key is at hand, so the lists are built for a key here.
@Suite struct DSAListTests {
  @Test func aListedDSAKeyIsFlaggedInEveryFormAndListFormat() throws {
    let box = try Sandbox()
    try box.mustSh("""
      set -e
      mkdir keys other
      openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 -pkeyopt dsa_paramgen_q_bits:160 -out params.pem 2>/dev/null
      openssl genpkey -paramfile params.pem -out keys/dsa.pem
      openssl genpkey -paramfile params.pem -out other/dsa.pem
      python3 '\(packageRoot)/Tests/EndToEndTests/Scripts/dsa-lists.py' keys/dsa.pem lists
      cp lists/authorized_keys keys/authorized_keys
      """)
    let ssh = try box.rehost("check", "keys", "--blocklist", "lists/openssh", "--no-standard-blocklists")
    #expect(ssh.stdout.contains("keys/dsa.pem:1: DSA-1024 private key: Debian weak key (CVE-2008-0166): listed in Debian's list (openssh-blacklist)"), "\(ssh.stdout)")
    #expect(ssh.stdout.contains("keys/authorized_keys:1: ssh-dss public key (1024 bits): Debian weak key"), "\(ssh.stdout)")
    let badkeys = try box.rehost("check", "keys", "--blocklist", "lists/badkeys", "--no-standard-blocklists")
    #expect(badkeys.stdout.split(separator: "\n").filter { $0.contains("listed in badkeys' debianssl list") }.count == 2, "\(badkeys.stdout)")
    try box.mustSh("'\(rehostBinary)' blocklist import lists/openssh lists/badkeys --out store >/dev/null")
    let store = try box.rehost("check", "keys", "--blocklist", "store", "--no-standard-blocklists")
    #expect(store.stdout.split(separator: "\n").filter { $0.contains("Debian weak key") }.count == 2, "\(store.stdout)")
    // Another key with the same parameters is not listed; its size is covered.
    let clean = try box.rehost("check", "other", "--blocklist", "lists/openssh", "--no-standard-blocklists")
    #expect(clean.status == 0 && !clean.stdout.contains("Debian weak key") && !clean.stdout.contains("did not run"), "\(clean.stdout)")
  }
}

/// CRLs published outside the CA directories: fresh and signed by their CA.
@Suite struct PublishedCRLTests {
  @Test func aStaleCopyAndAForgedCRLAreFlagged() throws {
    let box = try Sandbox()
    try box.mustSh("""
      set -e
      '\(packageRoot)/scripts/make-sample-ca.sh' ca >/dev/null
      mkdir -p www/crl
      cp ca/crl/ca.crl.pem www/crl/current.crl.pem
      cp ca/certs/ca.cert.pem www/ca.cert.pem
      (cd ca && openssl ca -config openssl.cnf -gencrl -crl_lastupdate 20200101000000Z -crl_nextupdate 20200201000000Z -out ../www/crl/old.crl.pem 2>/dev/null)
      openssl crl -in ca/crl/ca.crl.pem -outform DER -out forged.der
      python3 -c "import sys; b = bytearray(open('forged.der','rb').read()); b[-1] ^= 1; open('forged.der','wb').write(b)"
      openssl crl -inform DER -in forged.der -out www/crl/forged.crl.pem
      """)
    let r = try box.rehost("check", "ca", "www", "--blocklist", CheckTests.sample, "--no-standard-blocklists")
    let lines = r.stdout.split(separator: "\n").filter { $0.contains("www/crl/") }
    #expect(lines.contains { $0.hasPrefix("WARNING") && $0.contains("www/crl/old.crl.pem:1: CRL of") && $0.contains("stale: its next update was due 2020-02-01") }, "\(r.stdout)")
    #expect(lines.contains { $0.hasPrefix("ERROR") && $0.contains("www/crl/forged.crl.pem:1:") && $0.contains("signature does not verify") }, "\(r.stdout)")
    #expect(!lines.contains { $0.contains("current.crl.pem") }, "\(r.stdout)")
    #expect(lines.count == 2, "\(r.stdout)")
  }
}

/// Encrypted private keys: opened with --key-passphrase-file, else their certificate speaks for them.
@Suite struct EncryptedKeyTests {
  @Test func anEncryptedWeakKeyIsCheckedWithItsPassphraseOrThroughItsCertificate() throws {
    let box = try Sandbox()
    try box.mustSh("""
      set -e
      mkdir srv
      openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:s3cret -in '\(CheckTests.sample)/rsa2048-le32-pid00002-nornd.pem' -out srv/www.key.pem
      openssl req -x509 -new -key '\(CheckTests.sample)/rsa2048-le32-pid00002-nornd.pem' -subj /CN=www.example.org -days 30 -out srv/www.cert.pem
      printf 'wrong\\ns3cret\\n' > passphrases
      echo wrong > wrong
      """)
    func run(_ extra: String...) throws -> RunResult {
      try box.rehost(["check", "srv", "--blocklist", CheckTests.sample, "--no-standard-blocklists"] + extra)
    }
    // No passphrase: the key is not inspectable, but its certificate's key is flagged.
    let plain = try run()
    #expect(plain.stdout.contains("srv/www.key.pem:1: encrypted private key: cannot inspect without its passphrase"), "\(plain.stdout)")
    #expect(plain.stdout.contains("srv/www.cert.pem:1: certificate /CN=www.example.org (RSA-2048 key): Debian weak key"), "\(plain.stdout)")
    #expect(!plain.stdout.contains("srv/www.key.pem:1: RSA-2048 private key: Debian weak key"))
    // The right passphrase among others: the key itself is flagged, and it matches its certificate.
    let opened = try run("--key-passphrase-file", "passphrases")
    #expect(opened.stdout.contains("srv/www.key.pem:1: RSA-2048 private key: Debian weak key"), "\(opened.stdout)")
    #expect(!opened.stdout.contains("does not match"), "\(opened.stdout)")
    // Only wrong ones: said so.
    let wrong = try run("--key-passphrase-file", "wrong")
    #expect(wrong.stdout.contains("srv/www.key.pem:1: encrypted private key: none of the passphrases given opens it"), "\(wrong.stdout)")
  }
}

/// Keys and certificates that belong together, and chains to the CA certificates found.
@Suite struct CertificatePairTests {
  @Test func aReplacedKeyAndAForeignSignatureAreFlagged() throws {
    let box = try Sandbox()
    try box.mustSh("""
      set -e
      '\(packageRoot)/scripts/make-sample-ca.sh' ca >/dev/null
      cd ca/intermediate
      # The server's key replaced without a new certificate.
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out private/www.example-ca.org.key.pem 2>/dev/null
      # A key and a certificate for another key, bundled in one file.
      cat private/ocsp.example-ca.org.key.pem certs/old.example-ca.org.cert.pem > ../bundle.pem
      # A certificate naming the issuing CA as its issuer, signed by an impostor with that name.
      cd ../..
      openssl req -x509 -newkey rsa:2048 -nodes -keyout impostor.key -subj "$(openssl x509 -in ca/intermediate/certs/ca.cert.pem -noout -subject -nameopt compat | sed 's/^subject=//')" -days 30 -out impostor.pem 2>/dev/null
      openssl req -new -newkey rsa:2048 -nodes -keyout ca/rogue.key -subj /CN=rogue.example-ca.org -out rogue.csr 2>/dev/null
      openssl x509 -req -in rogue.csr -CA impostor.pem -CAkey impostor.key -CAcreateserial -days 30 -out ca/rogue.cert.pem 2>/dev/null
      """)
    let r = try box.rehost("check", "ca", "--blocklist", CheckTests.sample, "--no-standard-blocklists")
    #expect(r.status == 1, "\(r.output)")
    let errors = r.stdout.split(separator: "\n").filter { $0.hasPrefix("ERROR") }
    #expect(errors.contains { $0.contains("ca/intermediate/certs/www.example-ca.org.cert.pem:") && $0.contains("certificate /CN=www.example-ca.org: does not match its private key ca/intermediate/private/www.example-ca.org.key.pem:1") }, "\(r.stdout)")
    #expect(errors.contains { $0.contains("ca/bundle.pem:") && $0.contains("certificate /CN=old.example-ca.org: does not match its private key ca/bundle.pem:1") }, "\(r.stdout)")
    #expect(errors.contains { $0.contains("ca/rogue.cert.pem:1: certificate /CN=rogue.example-ca.org: does not verify to the CA certificates found") }, "\(r.stdout)")
    #expect(errors.count == 3, "\(r.stdout)")
  }
}

/// A live TLS endpoint serving a genuine Debian weak key (openssl s_server on loopback).
@Suite struct LiveEndpointTests {
  @Test func aServerWithAWeakKeyIsFlagged() throws {
    let box = try Sandbox()
    let key = CheckTests.sample + "/rsa1024-le64-pid00003-nornd.pem"
    try box.mustSh("""
      openssl req -x509 -new -key '\(key)' -subj /CN=offline.example-ca.org \\
        -addext subjectAltName=IP:127.0.0.1 -days 365 -out weak.crt 2>/dev/null
      """)
    // Start s_server on a free port, wait until it listens, check it, stop it.
    let r = try box.sh("""
      for try in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 30000))
        openssl s_server -accept 127.0.0.1:$port -key '\(key)' -cert weak.crt -cipher 'DEFAULT@SECLEVEL=0' -quiet -naccept 2 \\
          </dev/null >server.log 2>&1 &
        pid=$!
        for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
        if kill -0 $pid 2>/dev/null; then break; fi
      done
      '\(rehostBinary)' check --tls 127.0.0.1:$port --blocklist '\(CheckTests.sample)' --no-standard-blocklists
      status=$?
      kill $pid 2>/dev/null; wait $pid 2>/dev/null
      exit $status
      """)
    #expect(r.status == 1, "\(r.output)")
    #expect(r.stdout.contains("certificate /CN=offline.example-ca.org (RSA-1024 key): Debian weak key (CVE-2008-0166)"), "\(r.stdout)")
    #expect(!r.stdout.contains("is not valid for"), "\(r.stdout)")
    // Nothing listening: an error finding, not a crash.
    let down = try box.rehost("check", "--tls", "127.0.0.1:1", "--no-standard-blocklists")
    #expect(down.status == 1 && down.stdout.contains("cannot connect to 127.0.0.1:1"), "\(down.output)")
  }
}

/// A healthy CA with years of history: what it issued and what has since expired or been
/// revoked is a record (info), not an error; what is served and what signs must be valid.
@Suite struct HealthyHistoryTests {
  @Test func aCAWithALongExpiredHistoryComesOutClean() throws {
    let box = try Sandbox()
    try box.mustSh("""
      set -e
      '\(packageRoot)/scripts/make-sample-ca.sh' ca >/dev/null
      cd ca/intermediate
      for year in $(seq 2010 2021); do
        for n in 1 2; do
          openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out old.key 2>/dev/null
          openssl req -new -key old.key -subj /CN=host$n-$year.example-ca.org -out old.csr
          openssl ca -batch -config openssl.cnf -extensions server_cert -startdate ${year}0101000000Z -enddate ${year}1231000000Z \\
            -in old.csr -out /dev/null 2>/dev/null
        done
      done
      rm -f old.key old.csr
      openssl ca -config openssl.cnf -updatedb 2>/dev/null || true
      """)
    let history = try box.sh("ls ca/intermediate/newcerts | wc -l; grep -c '^E' ca/intermediate/index.txt")
    #expect(history.stdout.split(separator: "\n").map { Int($0) ?? 0 }.allSatisfy { $0 >= 24 }, "\(history.stdout)")
    let r = try box.rehost("check", "ca", "--blocklist", CheckTests.sample, "--no-standard-blocklists")
    #expect(r.status == 0, "\(r.output)")
    #expect(!r.stdout.contains("ERROR"), "\(r.stdout)")
    #expect(r.stdout.contains("(issuance history)"), "\(r.stdout)")
    // The same expired certificate outside the history, where it would be served, is an error.
    try box.mustSh("mkdir served && cp \"$(grep -l host1-2015 ca/intermediate/newcerts/*.pem | head -1)\" served/site.pem")
    let served = try box.rehost("check", "served", "--blocklist", CheckTests.sample, "--no-standard-blocklists")
    #expect(served.status == 1 && served.stdout.contains("expired on 2015-12-31"), "\(served.output)")
  }
}

/// `check --tls ADDRESS:PORT --servername NAME`: a new host tested by address under its real name.
@Suite struct ServerNameTests {
  @Test func theServerNameIsAskedForAndChecked() throws {
    let box = try Sandbox()
    try box.mustSh("""
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout site.key -subj /CN=ca.example.org \\
        -addext subjectAltName=DNS:ca.example.org -days 365 -out site.crt 2>/dev/null
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -subj /CN=default.example.org \\
        -addext subjectAltName=DNS:default.example.org -days 365 -out other.crt 2>/dev/null
      """)
    // s_server serves site.crt only to clients asking for ca.example.org (SNI), other.crt otherwise.
    let r = try box.sh("""
      for try in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 30000))
        openssl s_server -accept 127.0.0.1:$port -key other.key -cert other.crt -servername ca.example.org -key2 site.key -cert2 site.crt \\
          -quiet -naccept 4 </dev/null >server.log 2>&1 &
        pid=$!
        for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
        if kill -0 $pid 2>/dev/null; then break; fi
      done
      R='\(rehostBinary)'
      echo "== named"; "$R" check --tls 127.0.0.1:$port --servername ca.example.org --no-standard-blocklists; echo "status $?"
      echo "== wrong"; "$R" check --tls 127.0.0.1:$port --servername www.example.org --no-standard-blocklists; echo "status $?"
      echo "== address"; "$R" check --tls 127.0.0.1:$port --no-standard-blocklists; echo "status $?"
      kill $pid 2>/dev/null; wait $pid 2>/dev/null
      """)
    let parts = r.stdout.components(separatedBy: "== ")
    try #require(parts.count == 4, "\(r.output)")
    #expect(parts[1].contains("status 0") && parts[1].contains("0 errors, 0 warnings"), "\(parts[1])")
    #expect(parts[2].contains("status 1") && parts[2].contains("the certificate served is not valid for www.example.org"), "\(parts[2])")
    #expect(parts[3].contains("not valid for 127.0.0.1"), "\(parts[3])")
  }
}

/// The same weak keys through the other two list formats and as OpenSSH keys.
@Suite struct BlocklistFormatTests {
  /// `rehost blocklist import`: each format alone, merged into the store, flags every
  /// sample key; all three merged give one store; a damaged store is refused.
  @Test func theImportedStoreFlagsEverySampleKeyFromEachFormat() throws {
    let box = try Sandbox()
    try box.mustSh("python3 '\(packageRoot)/Tests/EndToEndTests/Scripts/other-blocklist-formats.py' '\(CheckTests.sample)' lists >/dev/null")
    for (source, target, listed) in [
      (CheckTests.sample, CheckTests.sample, "openssl-blacklist"), ("lists/openssh", "lists/authorized_keys", "openssh-blacklist"),
      ("lists/badkeys", CheckTests.sample, "badkeys' debianssl list"),
    ] {
      let made = try box.rehost("blocklist", "import", source, "--out", "store-\(listed.prefix(7))")
      #expect(made.status == 0, "\(made.output)")
      let r = try box.rehost("check", target, "--blocklist", "store-\(listed.prefix(7))", "--no-standard-blocklists")
      let hits = r.stdout.split(separator: "\n").filter { $0.contains("Debian weak key") && $0.contains(listed) }
      #expect(hits.count == 90, "\(source): \(r.stdout.suffix(600))")
      #expect(!hits.contains { $0.contains("/strong/") || $0.contains("/reference/") })
      #expect(!r.stdout.contains("did not run"), "the store covers the sample's sizes")
    }
    let merged = try box.rehost("blocklist", "import", CheckTests.sample, "lists/openssh", "lists/badkeys", "--out", "store")
    #expect(merged.stdout.contains("RSA-1024 (144), RSA-2048 (36)") && merged.stdout.contains("badkeys records: 90"), "\(merged.output)")
    #expect(try box.sh("stat -c %s store/rehost-blocklist.bin").stdout == "\(16 * (1 + 2 + 180 + 90))\n")

    try box.mustSh("head -c 100 store/rehost-blocklist.bin > store/cut && mv store/cut store/rehost-blocklist.bin")
    let damaged = try box.rehost("check", CheckTests.sample, "--blocklist", "store", "--no-standard-blocklists")
    #expect(damaged.status == 2 && damaged.stderr.contains("is not a rehost blocklist store"), "\(damaged.output)")
    let nothing = try box.rehost("blocklist", "import", "lists/authorized_keys", "--out", "x")
    #expect(nothing.status == 2 && nothing.stderr.contains("is not a blocklist this version reads"), "\(nothing.output)")
  }


  @Test func everySampleKeyIsFlaggedThroughEachFormat() throws {
    let box = try Sandbox()
    let built = try box.sh("python3 '\(packageRoot)/Tests/EndToEndTests/Scripts/other-blocklist-formats.py' '\(CheckTests.sample)' lists")
    #expect(built.status == 0 && built.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "90", "\(built.output)")
    let weak = try FileManager.default.contentsOfDirectory(atPath: CheckTests.sample).filter { $0.hasSuffix(".pem") }

    // badkeys' blocklist.dat, against the PEM keys; the strong keys stay clean.
    let badkeys = try box.rehost("check", CheckTests.sample, "--blocklist", "lists/badkeys", "--no-standard-blocklists")
    let badkeysHits = badkeys.stdout.split(separator: "\n").filter { $0.contains("listed in badkeys' debianssl list") }
    #expect(badkeysHits.count == 90, "\(badkeys.stdout)")
    #expect(!badkeysHits.contains { $0.contains("/strong/") || $0.contains("/reference/") })

    // openssh-blacklist, against authorized_keys lines (one per key, options on the first).
    let ssh = try box.rehost("check", "lists/authorized_keys", "--blocklist", "lists/openssh", "--no-standard-blocklists")
    let sshHits = ssh.stdout.split(separator: "\n").filter { $0.contains("listed in Debian's list (openssh-blacklist)") }
    #expect(sshHits.count == 90, "\(ssh.stdout)")
    #expect(Set(sshHits.map { $0.split(separator: ":")[1] }).count == 90)  // every line, once
    // ...and against the PEM keys too, since every key is looked up under both fingerprints.
    let pem = try box.rehost("check", CheckTests.sample, "--blocklist", "lists/openssh", "--no-standard-blocklists")
    #expect(pem.stdout.split(separator: "\n").filter { $0.contains("openssh-blacklist") }.count == weak.count)

    // An OpenSSH private key file (its public half is in clear) and a known_hosts line.
    try box.mustSh("""
      set -e
      cp '\(CheckTests.sample)/rsa2048-le32-pid00002-nornd.pem' id_rsa && chmod 600 id_rsa
      ssh-keygen -p -N '' -o -f id_rsa >/dev/null    # rewrite in the OpenSSH format
      head -1 id_rsa | grep -q 'OPENSSH PRIVATE KEY'
      echo "ca.example-ca.org,192.0.2.1 $(ssh-keygen -y -f id_rsa)" > known_hosts
      mkdir ssh && mv id_rsa known_hosts ssh/
      openssl req -new -key '\(CheckTests.sample)/rsa1024-be32-pid00005-rnd.pem' -subj /CN=req -out ssh/weak.csr
      """)
    let files = try box.rehost("check", "ssh", "--blocklist", CheckTests.sample, "--no-standard-blocklists")
    #expect(files.stdout.contains("ssh/id_rsa:1: ssh-rsa private key file (2048 bits): Debian weak key"), "\(files.stdout)")
    #expect(files.stdout.contains("ssh/known_hosts:1: ssh-rsa public key (2048 bits): Debian weak key"), "\(files.stdout)")
    #expect(files.stdout.contains("ssh/weak.csr:1: certificate request's RSA-1024 key: Debian weak key"), "\(files.stdout)")
  }
}

/// Broken keys that no list knows: shared primes, Fermat-close primes, tiny keys, e = 1, a small factor,
/// each as a certificate, a PKCS#8 private key, an SPKI public key and an OpenSSH key.
@Suite struct ListFreeChecksTests {
  /// The walk of a directory: symlinks are not followed (a loop does not hold it up, a
  /// link to a key does not count it twice), a FIFO does not block it, and a file whose
  /// name is not UTF-8 is named as not checked rather than passed over in silence.
  @Test func theWalkFollowsNoLinkAndSaysWhatItSkipped() throws {
    let box = try Sandbox()
    try box.mustSh("""
      set -e
      mkdir -p tree/sub
      cp '\(CheckTests.sample)/rsa1024-be32-pid00001-rnd.pem' tree/sub/weak.pem
      ln -s sub/weak.pem tree/link.pem
      ln -s .. tree/sub/loop
      mkfifo tree/fifo
      cp '\(CheckTests.sample)/rsa1024-be32-pid00002-rnd.pem' "tree/$(printf 'bad\\377name.pem')"
      """)
    let r = try box.rehost("check", "tree", "--blocklist", CheckTests.sample, "--no-standard-blocklists")
    #expect(r.status == 1, "\(r.output)")
    let weak = r.stdout.split(separator: "\n").filter { $0.contains("Debian weak key") }
    #expect(weak.count == 1 && weak.first?.contains("tree/sub/weak.pem:1") == true, "\(r.stdout)")
    #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("WARNING") && $0.contains("tree/bad") && $0.contains("its name is not UTF-8") },
            "\(r.stdout)")
  }

  @Test func brokenKeysAreFlaggedInEveryForm() throws {
    let box = try Sandbox()
    try box.mustSh("""
      set -e
      python3 '\(packageRoot)/Tests/EndToEndTests/Scripts/broken-rsa-keys.py' keys
      '\(packageRoot)/scripts/make-sample-ca.sh' ca >/dev/null
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out req.key 2>/dev/null
      openssl req -new -key req.key -subj /CN=carrier -out req.csr
      for k in shared-a shared-b fermat tiny e1 roca small; do
        openssl x509 -req -in req.csr -CA ca/intermediate/certs/ca.cert.pem -CAkey ca/intermediate/private/ca.key.pem \\
          -CAcreateserial -force_pubkey keys/$k.pub.pem -days 30 -out keys/$k.cert.pem 2>/dev/null
        openssl x509 -in keys/$k.cert.pem -outform DER -out keys/$k.cert.der
        openssl pkey -in keys/$k.key.pem -outform DER -out keys/$k.key.der
        openssl rsa -pubin -in keys/$k.pub.pem -RSAPublicKey_out -out keys/$k.rsapub.pem 2>/dev/null
      done
      """)
    let r = try box.rehost("check", "keys", "--no-standard-blocklists")
    #expect(r.status == 1, "\(r.output)")
    let errors = r.stdout.split(separator: "\n").filter { $0.hasPrefix("ERROR") }
    func flagged(_ name: String, _ words: String) -> Set<String> {
      Set(errors.filter { $0.contains("keys/\(name).") && $0.contains(words) }.map { String($0.split(separator: ":")[0].split(separator: ".").dropFirst().joined(separator: ".")) })
    }
    let forms: Set<String> = ["key.pem", "rsakey.pem", "pub.pem", "ssh.pub", "cert.pem", "cert.der", "key.der", "rsapub.pem"]
    #expect(flagged("shared-a", "shares a prime factor") == forms, "\(r.stdout)")
    #expect(flagged("shared-b", "shares a prime factor") == forms)
    #expect(flagged("fermat", "Fermat's method") == forms)
    #expect(flagged("tiny", "256-bit RSA is broken") == forms)
    #expect(flagged("e1", "public exponent 1") == forms)
    #expect(flagged("roca", "ROCA fingerprint") == forms)
    #expect(errors.filter { $0.contains("ROCA") }.count == forms.count)  // the other keys do not have it
    #expect(flagged("small", "divisible by 65521") == forms, "\(r.stdout)")
    #expect(errors.filter { $0.contains("divisible by") }.count == forms.count)
    #expect(errors.filter { $0.contains("keys/shared-a.key.pem") && $0.contains("shares") }.first?.contains("keys/shared-b.") == true)
    // A private key carries its primes: one that do not multiply to its modulus is named, in both encodings.
    #expect(flagged("forged", "its primes do not multiply to its modulus") == ["key.pem", "rsakey.pem"], "\(r.stdout)")
    #expect(errors.filter { $0.contains("primes do not multiply") }.count == 2)

    // The primes a private key gives stand in for the batch GCD: between two private keys,
    // and between a private key and a public one, the shared prime is still found.
    for (a, b) in [("shared-a.key.pem", "shared-b.rsakey.pem"), ("shared-a.key.der", "shared-b.pub.pem"), ("shared-a.cert.pem", "shared-b.key.pem")] {
      let pair = try box.rehost("check", "keys/\(a)", "keys/\(b)", "--no-standard-blocklists")
      let lines = pair.stdout.split(separator: "\n").filter { $0.hasPrefix("ERROR") && $0.contains("shares a prime factor") }
      #expect(lines.count == 2 && lines.contains { $0.contains(a) && $0.contains(b) } && lines.contains { $0.contains(b) && $0.contains("with keys/\(a)") },
              "\(a), \(b): \(pair.stdout)")
    }
  }
}

/// Checking an archive's keys without restoring it.
@Suite struct ArchiveCheckTests {
  @Test func weakKeysInsideAnArchiveAreFoundWithoutRestoring() throws {
    let box = try Sandbox()
    try box.keygen("operator", "custodian")
    try box.mustSh("cp -r '\(CheckTests.sample)' keys")
    #expect(try box.rehost("snapshot", "keys", "--out", "k.rehost", "--recipient", "custodian.pub", "--sign", "operator.key").status == 0)
    let r = try box.rehost("check", "k.rehost", "--identity", "custodian.key", "--blocklist", CheckTests.sample, "--no-standard-blocklists")
    #expect(r.status == 1, "\(r.output)")
    let hits = r.stdout.split(separator: "\n").filter { $0.contains("Debian weak key") }
    #expect(hits.count == 90, "\(r.stdout)")
    #expect(hits.allSatisfy { $0.contains("k.rehost:keys/rsa") })
    #expect(try FileManager.default.contentsOfDirectory(atPath: box.dir).sorted() == ["custodian.key", "custodian.pub", "k.rehost", "k.rehost.seal", "keys", "operator.key", "operator.pub"])
    let noKey = try box.rehost("check", "k.rehost", "--no-standard-blocklists")
    #expect(noKey.status == 2 && noKey.stderr.contains("needs a key"), "\(noKey.output)")
    let wrongKey = try box.rehost("check", "k.rehost", "--identity", "operator.key", "--no-standard-blocklists")
    #expect(wrongKey.status == 2, "\(wrongKey.output)")
  }
}
