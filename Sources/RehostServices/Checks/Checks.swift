import Foundation
import RehostBase
import RehostCrypto
import RehostFormat
import RehostMath
import RehostStorage

/// What `rehost check` looks at and with which lists.
public struct CheckOptions {
  public var paths: [String]
  /// Live TLS endpoints, "HOST:PORT": their presented chains are checked.
  public var tlsEndpoints: [String] = []
  /// The name to ask the TLS endpoints for (SNI) and to check their certificates against,
  /// instead of the host given (as `openssl s_client -servername`).
  public var tlsServerName: String?
  public var blocklistDirectories: [String] = []
  /// Also load lists from the standard install places when present.
  public var useStandardBlocklists = true
  /// Certificates expiring within this many days are a warning.
  public var expiryWarningDays = 30
  /// "Now", in seconds since the epoch (tests pin it).
  public var now = Int64(Date().timeIntervalSince1970)
  /// Keys that open `.rehost` archives given as paths: their content is checked
  /// without being restored to disk.
  public var archiveIdentities: [Identity] = []
  public var archiveShareFiles: [String] = []
  /// Passphrases tried on encrypted private keys found.
  public var keyPassphrases: [[UInt8]] = []
  /// Batch GCD keeps its product tree in memory: about 4.5 KiB per RSA-2048 key and tree
  /// level; a run over 100,000 keys peaks near 1 GiB (measured by bench/bench-checks.sh).
  /// Past this many distinct moduli the check says it did not run.
  public var batchGCDLimit = 100_000

  public init(paths: [String]) { self.paths = paths }
}

public struct CheckReport: Sendable {
  /// Most severe first.
  public let findings: [Finding]
  public let filesScanned: Int
  public let keys: Int
  public let certificates: Int
  /// Lists loaded ("RSA-1024", "badkeys PATH"), with their entry counts.
  public let blocklists: [String: Int]
}

/// Post-move checks of keys and certificates found in files: Debian weak keys
/// (CVE-2008-0166), RSA size and exponent, certificate validity and signature hash.
public enum Checks {
  /// - Parameter progress: told how many files of how many have been read, per directory.
  public static func run(_ options: CheckOptions, progress: ProgressObserver? = nil) throws -> CheckReport {
    var blocklist = DebianBlocklist()
    for dir in options.blocklistDirectories { try blocklist.load(directory: dir) }
    if options.useStandardBlocklists {
      for dir in DebianBlocklist.standardDirectories where FileManager.default.fileExists(atPath: dir) {
        try blocklist.load(directory: dir)
      }
    }
    let scan = Scan(blocklist: blocklist, options: options)
    scan.progress = progress
    let started = Date()
    for path in options.paths {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw RehostError(.usage, "\(path) does not exist", hint: "check the path")
      }
      if isDirectory.boolValue {
        let walk = CheckFiles.walk(path)
        for (place, reason) in walk.unreadable {
          scan.findings.append(Finding(severity: .warning, file: place, line: nil, subject: "file",
                                       problem: "not checked: \(reason)", action: "check it by hand, or fix the cause and check again"))
        }
        try scan.files(walk.files)
        for dir in Set([path] + walk.withIndex).sorted() where Scan.isCADirectory(dir) { scan.caDirectory(dir) }
      } else if try ArchiveScan.isArchive(path) {
        try ArchiveScan.run(path, options: options, scan: scan)
      } else {
        try scan.file(path)
      }
    }
    for endpoint in options.tlsEndpoints { try scan.endpoint(endpoint) }
    let scanned = Date()
    let report = scan.report()
    if ProcessInfo.processInfo.environment["REHOST_TIMINGS"] != nil {
      // For bench/bench.sh: where the time went.
      FileHandle.standardError.write(Data(String(
        format: "timing: files %.3f s (%d keys), batch gcd and report %.3f s (%d moduli)\n",
        scanned.timeIntervalSince(started), scan.keys, Date().timeIntervalSince(scanned), scan.distinctModuli).utf8))
    }
    return report
  }
}

/// The state of one run: findings so far, counts, sizes no list covered.
final class Scan {
  let blocklist: DebianBlocklist
  let options: CheckOptions
  var findings: [Finding] = []
  var files = 0, keys = 0, certificates = 0
  var uncovered = Set<String>()
  /// Where a key was found, as findings name it.
  typealias Place = (file: String, line: Int?, subject: String)
  /// Every RSA key seen: its modulus, where, and the primes a private key gave (p·q = n
  /// checked; no batch GCD for them). Grouped by modulus once, at the end (`modulusGroups`):
  /// kept in a dictionary, its 512-digit keys were hashed for each key and again for each merge.
  var rsaKeys: [(modulus: SharedPrimes.Number, place: Place, primes: [[UInt8]]?)] = []
  /// How many distinct moduli `report` found.
  var distinctModuli = 0
  /// Private keys and certificates seen, for key/certificate pairs and chains (CertificateChecks.swift).
  var privateKeys: [FoundKey] = []
  var certificatesFound: [FoundCertificate] = []
  var crlsFound: [FoundCRL] = []
  /// OpenSSL CA directories checked as such (their CRLs are checked there).
  var caDirectoriesChecked: [String] = []
  /// Where the key being checked was found (set by the walkers, read by `check`).
  var currentFile = "-", currentLine: Int?
  /// Told how many of a directory's files have been read.
  var progress: ProgressObserver?

  init(blocklist: DebianBlocklist, options: CheckOptions) {
    self.blocklist = blocklist
    self.options = options
  }

  /// Scans `paths` on every core: each worker has a scan of its own, merged at the end
  /// (findings are sorted when reported, so the order of work does not show).
  func files(_ paths: [String]) throws {
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(1, paths.count / 256))
    progress?.expect(entries: paths.count, bytes: 0)
    guard workers > 1 else {
      for (i, path) in paths.enumerated() {
        try file(path)
        progress?.progress(entries: i + 1, bytes: 0)
      }
      return
    }
    let shared = ParallelScan(paths: paths, scans: (0..<workers).map { _ in Scan(blocklist: blocklist, options: options) }, progress: progress)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in shared.run(worker) }
    if let error = shared.errors.compactMap({ $0 }).first { throw error }
    for part in shared.scans { merge(part) }
  }

  /// Adds what another scan found.
  func merge(_ other: Scan) {
    findings += other.findings
    files += other.files
    keys += other.keys
    certificates += other.certificates
    uncovered.formUnion(other.uncovered)
    rsaKeys += other.rsaKeys
    privateKeys += other.privateKeys
    certificatesFound += other.certificatesFound
    crlsFound += other.crlsFound
  }

  /// Files larger than this hold no keys worth finding (and are not read).
  static let maxFileSize = 4 << 20

  func file(_ path: String) throws {
    guard let data = CheckFiles.read(path, limit: Self.maxFileSize) else { return }
    // DER: a binary ASN.1 SEQUENCE (0x30) that is one of the structures we read.
    if data.first == 0x30, !data.prefix(64).allSatisfy({ $0 >= 0x09 && $0 < 0x7f }), let item = KeyInspection.inspect(der: data) {
      files += 1
      currentFile = path
      currentLine = nil
      examine(item, at: path, line: nil)
      return
    }
    content(String(decoding: data, as: UTF8.self), at: path)
  }

  /// Checks the keys and certificates in one file's content.
  func content(_ text: String, at path: String) {
    let maybeSSH = text.containsBytes("ssh-") || text.containsBytes("ecdsa-sha2-") || text.containsBytes("OPENSSH PRIVATE KEY")
    guard maybeSSH || text.containsBytes("-----BEGIN ") else { return }
    files += 1
    currentFile = path
    // OpenSSH keys: only where their type names or block appear (most files here are PEM).
    for key in maybeSSH ? SSHKeys.find(in: text) : [] {
      currentLine = key.line
      keys += 1
      let subject = "\(key.type) \(key.isPrivateKeyFile ? "private key file" : "public key")" + (key.bits > 0 ? " (\(key.bits) bits)" : "")
      let add = { (severity: Finding.Severity, subject: String, problem: String, action: String) in
        self.findings.append(Finding(severity: severity, file: path, line: key.line, subject: subject, problem: problem, action: action))
      }
      if let rsa = key.rsa {
        check(rsa, subject: subject, sshBlob: key.blob, add)
      } else if key.type == "ssh-dss" {
        lookUp(type: "DSA", bits: key.bits, sha1: nil, blob: key.blob, value: key.dsaPublic, subject: subject, add)
      }
    }
    for (line, item) in KeyInspection.inspect(pem: text, passphrases: options.keyPassphrases) {
      currentLine = line
      examine(item, at: path, line: line)
    }
  }

  /// Checks one identified key, certificate or request.
  func examine(_ item: PEMItem, at path: String, line: Int?) {
    func add(_ severity: Finding.Severity, _ subject: String, _ problem: String, _ action: String) {
      findings.append(Finding(severity: severity, file: path, line: line, subject: subject, problem: problem, action: action))
    }
    switch item {
    case .privateKey(let key):
      keys += 1
      privateKeys.append(FoundKey(file: path, line: line, identity: key.identity))
      check(key, subject: "\(key.algorithm)-\(key.bits) private key", add)
    case .publicKey(let key):
      keys += 1
      check(key, subject: "\(key.algorithm)-\(key.bits) public key", add)
    case .certificate(let cert):
      certificates += 1
      certificatesFound.append(FoundCertificate(file: path, line: line, facts: cert))
      check(cert, add)
    case .requestKey(let key):
      keys += 1
      check(key, subject: "certificate request's \(key.algorithm)-\(key.bits) key", add)
    case .encryptedPrivateKey:
      keys += 1
      add(.info, "encrypted private key", "cannot inspect without its passphrase",
          "its certificate, if found, is checked; to check the key itself, pass its passphrase with --passphrase-file")
    case .undecryptablePrivateKey:
      keys += 1
      add(.warning, "encrypted private key", "none of the passphrases given opens it",
          "its certificate, if found, is checked; add its passphrase to the --passphrase-file (one per line)")
    case .unreadable(let label, let reason):
      add(.warning, label.lowercased(), "cannot be read: \(reason)", "check whether the file is damaged")
    case .crl(let pem):
      crlsFound.append(FoundCRL(file: path, line: line, pem: pem))
    case .other:
      break
    }
  }

  func lookUp(type: String, bits: Int, sha1: String?, blob: [UInt8]?, value: [UInt8]?, subject: String,
              _ add: (Finding.Severity, String, String, String) -> Void) {
    let (listed, covered) = blocklist.lookup(type: type, bits: bits, modulusLineSHA1: sha1, sshBlob: blob, value: value)
    if let listed {
      add(.error, subject, "Debian weak key (CVE-2008-0166): listed in \(listed)",
          "treat the private key as public: revoke every certificate for it, and replace it with a key made on a sound system")
    } else if !covered {
      uncovered.insert("\(type)-\(bits)")
    }
  }

  func check(_ key: KeyFacts, subject: String, sshBlob: [UInt8]? = nil, _ add: (Finding.Severity, String, String, String) -> Void) {
    if key.algorithm == "DSA", let numbers = key.dsaNumbers {
      // Debian's broken OpenSSL made weak DSA keys too (openssh-blacklist's DSA-1024; badkeys hashes y).
      lookUp(type: "DSA", bits: key.bits, sha1: nil, blob: SSHKeys.dssBlob(key), value: numbers[3], subject: subject, add)
      return
    }
    guard key.algorithm == "RSA", let modulus = key.rsaModulusBytes else { return }
    lookUp(type: "RSA", bits: key.bits, sha1: key.modulusLineSHA1, blob: sshBlob ?? SSHKeys.rsaBlob(key), value: key.rsaModulusBytes,
           subject: subject, add)
    // A private key's own primes answer what the public key's checks search for.
    let primes = key.rsaPrimes?.count == 2 ? key.rsaPrimes : nil
    let verdicts = ModulusAnalysis.verdicts(modulus: modulus, primes: primes)
    if let p = verdicts.smallFactor {
      add(.error, subject, "the modulus is divisible by \(p): the key is trivially factored", "replace the key")
    } else if verdicts.primes == .productIsNotModulus {
      add(.error, subject, "its primes do not multiply to its modulus: the private key is corrupt or was tampered with",
          "restore the key from a sound copy and compare it with its certificate")
    }
    let knownPrimes = verdicts.primes != nil && verdicts.primes != .productIsNotModulus ? primes : nil
    if verdicts.fermat {
      add(.error, subject, "its two primes are so close that Fermat's method factors the modulus at once",
          "replace the key, made with a sound key generator")
    }
    if verdicts.roca {
      add(.error, subject, "ROCA fingerprint (CVE-2017-15361): made by an Infineon chip whose keys can be factored",
          "replace the key with one generated outside the affected chip (update its firmware first)")
    }
    rsaKeys.append((SharedPrimes.Number(modulus), (file: currentFile, line: currentLine, subject: subject), knownPrimes))
    if key.bits < 1024 {
      add(.error, subject, "\(key.bits)-bit RSA is broken", "replace it with a key of at least 2048 bits")
    } else if key.bits < 2048 {
      add(.warning, subject, "\(key.bits)-bit RSA is below today's minimum of 2048 bits", "plan its replacement with a 2048-bit or larger key")
    }
    switch key.rsaExponent {
    case nil:
      add(.warning, subject, "unusually large public exponent", "check how the key was made; use e = 65537")
    case let e? where e == 1 || e % 2 == 0:
      add(.error, subject, "public exponent \(e) makes RSA insecure or invalid", "replace the key (use e = 65537)")
    case let e? where e < 65537:
      add(.warning, subject, "small public exponent \(e)", "prefer e = 65537 when the key is next replaced")
    default:
      break
    }
  }

  func check(_ cert: CertificateFacts, _ add: (Finding.Severity, String, String, String) -> Void) {
    let subject = "certificate \(cert.subject)"
    let day: Int64 = 86_400
    // A CA's issuance history (`openssl ca` keeps every certificate it issued in
    // newcerts/): an expired or revoked one there is a record, not a problem. What is
    // served and what signs (certs/, the CA's own certificate, a live endpoint) must be valid.
    if Self.isHistory(currentFile) {
      if cert.notAfter < options.now {
        add(.info, subject, "expired on \(Self.date(cert.notAfter)) (issuance history)", "nothing to do: the CA keeps what it issued")
      }
      return
    }
    if cert.notAfter < options.now {
      add(.error, subject, "expired on \(Self.date(cert.notAfter))", "renew or replace it")
    } else if cert.notAfter < options.now + Int64(options.expiryWarningDays) * day {
      add(.warning, subject, "expires on \(Self.date(cert.notAfter)), within \(options.expiryWarningDays) days", "renew it soon")
    }
    if cert.notBefore > options.now {
      add(.warning, subject, "not valid before \(Self.date(cert.notBefore))", "check the issuing host's clock")
    }
    let algorithm = cert.signatureAlgorithm.lowercased()
    if algorithm.contains("md5") {
      add(.error, subject, "signed with \(cert.signatureAlgorithm)", "reissue it with SHA-256 or better")
    } else if algorithm.contains("sha1") {
      add(.warning, subject, "signed with \(cert.signatureAlgorithm)", "reissue it with SHA-256 or better")
    }
    if let key = cert.key { check(key, subject: "\(subject) (\(key.algorithm)-\(key.bits) key)", add) }
  }

  /// Checks the chain a live TLS endpoint presents, as if it were a file of certificates.
  func endpoint(_ endpoint: String) throws {
    guard let colon = endpoint.lastIndex(of: ":"), let port = UInt16(endpoint[endpoint.index(after: colon)...]) else {
      throw RehostError(.usage, "--tls takes HOST:PORT, not '\(endpoint)'")
    }
    let host = String(endpoint[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    let place = "tls://\(endpoint)"
    currentFile = place
    let result: TLSProbe.Result
    do {
      result = try TLSProbe.chain(host: host, port: port, serverName: options.tlsServerName)
    } catch {
      findings.append(Finding(severity: .error, file: place, line: nil, subject: "TLS endpoint", problem: "\(error)",
                              action: "check that the service is up and reachable from here"))
      return
    }
    let name = options.tlsServerName ?? host
    if !result.leafMatchesHost {
      findings.append(Finding(severity: options.tlsServerName == nil ? .warning : .error, file: place, line: 1, subject: "TLS endpoint",
                              problem: "the certificate served is not valid for \(name)", action: "serve a certificate that names \(name)"))
    }
    for (index, pem) in result.chain.enumerated() {
      for (_, item) in KeyInspection.inspect(pem: pem) {
        guard case .certificate(let cert) = item else { continue }
        certificates += 1
        check(cert) { severity, subject, problem, action in
          findings.append(Finding(severity: severity, file: place, line: index + 1, subject: subject, problem: problem, action: action))
        }
      }
    }
  }

  /// Whether `path` is in a CA's record of issued certificates (a `newcerts` directory).
  static func isHistory(_ path: String) -> Bool {
    let parts = path.split(separator: "/")
    return parts.count >= 2 && parts[parts.count - 2] == "newcerts"
  }

  /// An `openssl ca` directory: it has index.txt and serial.
  static func isCADirectory(_ dir: String) -> Bool {
    FileManager.default.fileExists(atPath: dir + "/index.txt") && FileManager.default.fileExists(atPath: dir + "/serial")
  }

  func caDirectory(_ dir: String) {
    caDirectoriesChecked.append(dir)
    CADirectory(path: dir).check(now: options.now) { findings.append($0) }
  }

  func report() -> CheckReport {
    var all = findings
    // Primes shared between any two keys seen (SharedPrimes: batch GCD where only the
    // modulus is known).
    let groups = modulusGroups()
    let distinct = groups.moduli
    distinctModuli = distinct.count
    // Only the public moduli go into a batch GCD, beside the known primes' product when there are some.
    let publicCount = distinct.count - groups.primes.count
    if publicCount > 0 && distinct.count > options.batchGCDLimit {
      all.append(Finding(
        severity: .warning, file: "-", line: nil, subject: "\(distinct.count) RSA keys",
        problem: "the shared-prime check (batch GCD) did not run: it handles at most \(options.batchGCDLimit) keys in one run so far",
        action: "check the key directories in smaller groups"))
    } else {
      all += sharedPrimeFindings(groups)
    }
    all += keyCertificateMismatches()
    all += chainFindings()
    all += crlFindings()
    for kind in uncovered.sorted() {
      all.append(Finding(
        severity: .warning, file: "-", line: nil, subject: "\(kind) keys",
        problem: "the Debian weak-key check did not run for them: no blocklist covers \(kind)",
        action: "get a list that covers it (Debian 12 has no openssl-blacklist package): the CA/Browser Forum's Debian weak keys (github.com/cabforum/debian-weak-keys) or badkeys' blocklist, then `rehost blocklist import FILES... --out DIR` and pass --blocklist DIR"))
    }
    all.sort { ($0.severity.rank, $1.file, $1.line ?? 0) > ($1.severity.rank, $0.file, $0.line ?? 0) }
    return CheckReport(findings: all, filesScanned: files, keys: keys, certificates: certificates, blocklists: blocklist.sizes)
  }


  /// One finding per place holding a key that shares a prime with another, naming up to
  /// three of the places it shares one with.
  func sharedPrimeFindings(_ groups: ModulusGroups) -> [Finding] {
    let shared = SharedPrimes.find(moduli: groups.moduli.map(\.bytes), primes: groups.primes)
    var out: [Finding] = []
    for index in shared.keys.sorted() {
      let partners = shared[index]!.partners
        .flatMap { groups.places[$0].map { "\($0.file)\($0.line.map { ":\($0)" } ?? "")" } }.sorted()
      let named = partners.isEmpty ? "another key found"
        : partners.prefix(3).joined(separator: ", ") + (partners.count > 3 ? " and \(partners.count - 3) more" : "")
      for place in groups.places[index] {
        out.append(Finding(
          severity: .error, file: place.file, line: place.line, subject: place.subject,
          problem: "shares a prime factor (\(shared[index]!.factorHex.prefix(16))…) with \(named): both keys are broken",
          action: "replace every key that shares the prime; find and fix the key generator that made them"))
      }
    }
    return out
  }

  /// The distinct moduli seen, in the order found; where each was found; the primes of those a
  /// private key gave, by index.
  typealias ModulusGroups = (moduli: [SharedPrimes.Number], places: [[Place]], primes: [Int: [[UInt8]]])

  func modulusGroups() -> ModulusGroups {
    // Each modulus once, with its places in the order found (the findings are sorted later).
    var groups: ModulusGroups = ([], [], [:])
    var position: [SharedPrimes.Number: Int] = [:]
    position.reserveCapacity(rsaKeys.count)
    for key in rsaKeys {
      let index = position[key.modulus] ?? {
        groups.moduli.append(key.modulus)
        groups.places.append([])
        position[key.modulus] = groups.moduli.count - 1
        return groups.moduli.count - 1
      }()
      groups.places[index].append(key.place)
      if let primes = key.primes, groups.primes[index] == nil { groups.primes[index] = primes }
    }
    return groups
  }

  static func date(_ seconds: Int64) -> String {
    String(Timestamp.format(seconds: time_t(seconds)).prefix(10))
  }
}
