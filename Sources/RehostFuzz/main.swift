// Fuzz targets for every parser of untrusted input, for libFuzzer:
//
//   swift build -c release --sanitize=fuzzer --scratch-path .build-fuzz --product rehost-fuzz
//   REHOST_FUZZ=seal .build-fuzz/release/rehost-fuzz CORPUS_DIR
//
// REHOST_FUZZ names the parser: header, chunks, seal, manifest, tar, policy, inventory,
// share, runbook, journal, backup-config, repository, chain, keys. `make fuzz` runs each for a while; `make test` for a few seconds on the corpus
// in Tests/Fuzz/corpus. A parser may throw RehostError (that is a refusal); anything
// else (a crash, a trap, another error type, a hang) is a finding.
import Foundation
import RehostBackups
import RehostBase
import RehostCrypto
import RehostFormat
import RehostRunbooks
import RehostServices

/// Bytes as a ByteSource, in reads of uneven sizes (so framing across reads is exercised too).
final class ArraySource: ByteSource {
  let bytes: [UInt8]
  var offset = 0
  init(_ bytes: [UInt8]) { self.bytes = bytes }
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = min(buffer.count, bytes.count - offset, 1 + (offset * 7919) % 3001)
    if n <= 0 { return 0 }
    bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
    offset += n
    return n
  }
}

let target = ProcessInfo.processInfo.environment["REHOST_FUZZ"] ?? ""
let key = [UInt8](repeating: 7, count: 32)
let operatorKey = try! AsymmetricKey.privateKey(.x25519, raw: [UInt8](repeating: 9, count: 32))

let journalPolicy: TrustPolicy = {
  let operatorSigner = try! AsymmetricKey.privateKey(.ed25519, raw: [UInt8](repeating: 1, count: 32))
  let witness = try! AsymmetricKey.privateKey(.ed25519, raw: [UInt8](repeating: 2, count: 32))
  return TrustPolicy(keys: [TrustPolicy.TrustedKey(key: operatorSigner, path: "operator.pub", roles: ["operator"], person: "operator"),
                            TrustPolicy.TrustedKey(key: witness, path: "auditor.pub", roles: ["auditor"], person: "auditor")],
                     requirements: [], source: "fuzz.policy")
}()
/// The runbook of the seed journals: one step of each kind (Tests/Fuzz/make-corpus.py
/// writes the same text, FUZZ_RUNBOOK: its SHA-256 is in the seeds).
let journalRunbook: Runbook = {
  let text = """
    runbook: 1
    title: Fuzz
    policy: fuzz.policy
    phases:
      - title: All
        steps:
          - {id: announce, title: Announce, instruction: confirm}
          - {id: bag-sealed, title: Bag, record: Bag serial}
          - {id: pack, title: Pack, command: echo digest 42, capture: {digest: 'digest ([0-9]+)'}}
          - {id: seal-check, title: Check, check: "true"}
          - {id: sealing-witnessed, title: Witness, witness: {roles: [auditor], people: 1}}
          - {id: bag-opened, title: Bag again, record: Bag serial, equals: bag-sealed.value}

    """
  let (runbook, problems) = RunbookReader.lint(bytes: Array(text.utf8), file: "fuzz.yaml", checkingPolicy: false)
  precondition(problems.isEmpty, "\(problems)")
  precondition(runbook?.sha256 == "548d654963c698f8c43451dbad7727ac87cad1bba26cd8306a382a81326feb3e", "not the seeds' runbook")
  return runbook!
}()

/// The repository of the seed chains: signed by the journal's operator key (32 bytes of 1).
let chainRepository = Repository(path: "/nonexistent/fuzz-repo", id: String(repeating: "ab", count: 16), created: "2026-12-01T00:00:00Z",
                                 recipients: ["x25519 " + String(repeating: "0", count: 64)],
                                 signer: journalPolicy.keys[0].key.fingerprint(), infoSHA256: String(repeating: "cd", count: 32))

/// Runs `body`; a RehostError is a refusal, anything else a finding.
func refusalsOnly(_ body: () throws -> Void) {
  do { try body() } catch is RehostError {} catch {
    fatalError("\(target): a parser threw something other than RehostError: \(error)")
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  switch target {
  case "header":
    refusalsOnly {
      let (header, length) = try ArchiveHeader.read(from: ArraySource(bytes))
      precondition(header.encoded() == Array(bytes.prefix(length)), "a header that does not re-encode to its bytes")
    }
  case "chunks":
    refusalsOnly {
      let decryptor = try ChunkDecryptor(key: key, chunkSize: 4096, source: ArraySource(bytes), payloadOffset: 0)
      var buffer = [UInt8](repeating: 0, count: 5000)
      while try buffer.withUnsafeMutableBytes({ try decryptor.read(into: $0) }) > 0 {}
    }
  case "seal":
    refusalsOnly {
      let seal = try Seal.parse(bytes)
      precondition(Array(seal.encoded().utf8) == bytes, "a seal that does not re-encode to its bytes")
      try seal.validate()
      _ = try SealFacts(fields: seal.statement)
    }
  case "manifest":
    // A manifest line of any kind: entry, header, database record.
    let line = String(decoding: bytes, as: UTF8.self)
    if let entry = try? ManifestEntry.parse(line) { _ = entry.jsonLine(); _ = entry.differences(from: entry) }
    _ = try? ManifestHeader.parse(bytes)
    if let database = try? ManifestDatabase.parse(line) { _ = database.jsonLine() }
    _ = ManifestDatabase.fileName(ArchivePath(bytes: bytes))
    _ = TextEscape.escape(bytes)
  case "tar":
    // A plaintext tar stream, through the entry rules and the manifest comparison.
    refusalsOnly { _ = try PlaintextCheck.run(ArraySource(bytes), entries: 1000, contentBytes: 1 << 20) }
  case "policy":
    refusalsOnly { _ = try TrustPolicy.parse(bytes, source: "fuzz.policy") }
  case "inventory":
    refusalsOnly { _ = try Inventory(text: bytes, file: "/fuzz/inventory.yaml") }
  case "share":
    refusalsOnly {
      guard let text = String(validating: bytes, as: UTF8.self) else { return }
      _ = try ShareFile.open(text, name: "fuzz.share", headerSHA256: String(repeating: "0", count: 64), keys: [operatorKey])
    }
  case "runbook":
    // lint never throws: every problem is reported with its line.
    let (runbook, problems) = RunbookReader.lint(bytes: bytes, file: "fuzz.yaml", checkingPolicy: false)
    if let runbook, problems.isEmpty {
      _ = try? RunbookContext.params(runbook, given: [:])
      _ = PaperScript.render(runbook, format: .md)
    }
  case "journal":
    // A journal as an auditor receives it, held to a policy trusting the operator and a
    // witness (keys of the seed corpus, Tests/Fuzz/make-corpus.py), with and without the runbook.
    refusalsOnly { _ = try JournalVerifier.verify(bytes, path: "fuzz.jsonl", policy: journalPolicy, runbook: nil) }
    refusalsOnly { _ = try JournalVerifier.verify(bytes, path: "fuzz.jsonl", policy: journalPolicy, runbook: journalRunbook) }
  case "backup-config":
    refusalsOnly { _ = try BackupConfig(text: bytes, file: "/fuzz/backup.yaml") }
  case "repository":
    refusalsOnly { _ = try Repository.parse(bytes, path: "/fuzz/repo") }
  case "chain":
    // A repository's chain as an auditor receives it (seeds: Tests/Fuzz/make-corpus.py).
    refusalsOnly {
      let chain = try Chain.read(chainRepository, bytes: bytes)
      _ = Prune.plan(chainRepository, chain: chain, retention: Retention(description: "keep-last=2 keep-daily=3") ?? Retention())
    }
  case "keys":
    // What `rehost check` reads from a file: PEM blocks, OpenSSH keys, DER. Where the RSA
    // fast path reads DER, OpenSSL's decoders must read the same key from it.
    let text = String(decoding: bytes, as: UTF8.self)
    _ = KeyInspection.inspect(pem: text)
    _ = SSHKeys.find(in: text)
    let decoded = KeyInspection.inspect(der: bytes)
    bytes.withUnsafeBufferPointer { der in
      for pkcs8 in [false, true] {
        if let facts = KeyInspection.rsaPrivateKeyFacts(der: der, pkcs8: pkcs8) {
          precondition(decoded == .privateKey(facts), "the fast path read a private key OpenSSL reads otherwise")
        }
      }
      if let facts = KeyInspection.rsaPublicKeyFacts(der: der, spki: true) {
        precondition(decoded == .publicKey(facts), "the fast path read an SPKI OpenSSL reads otherwise")
      }
      if let facts = KeyInspection.rsaPublicKeyFacts(der: der, spki: false) {
        precondition(KeyInspection.decodedRSAPublicKey(der: bytes) == facts, "the fast path read a PKCS#1 public key OpenSSL reads otherwise")
      }
    }
  default:
    fatalError("set REHOST_FUZZ to header, chunks, seal, manifest, tar, policy, inventory, share, runbook, journal, backup-config, repository, chain or keys")
  }
  return 0
}
