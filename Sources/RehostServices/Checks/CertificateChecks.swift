import Foundation
import RehostCrypto

/// A private key seen during a scan.
struct FoundKey {
  let file: String
  let line: Int?
  let identity: String
}

/// A certificate seen during a scan.
struct FoundCertificate {
  let file: String
  let line: Int?
  let facts: CertificateFacts
}

/// A CRL seen during a scan.
struct FoundCRL {
  let file: String
  let line: Int?
  let pem: String
}

/// Checks that need every key and certificate of the run: keys and certificates that
/// belong together but do not match, and certificates that do not verify to the CA
/// certificates found.
extension Scan {
  /// Keys and certificates belong together when they are in the same file, or when their
  /// names agree once the extensions are dropped (`private/www.key.pem` and
  /// `certs/www.cert.pem`, in the same CA directory or the same directory). A certificate
  /// in such a group that matches none of its keys is reported.
  func keyCertificateMismatches() -> [Finding] {
    guard !certificatesFound.isEmpty else { return [] }
    var keysByGroup: [String: [FoundKey]] = [:]
    for key in privateKeys {
      for group in Self.pairingGroups(key.file) { keysByGroup[group, default: []].append(key) }
    }
    var out: [Finding] = []
    for certificate in certificatesFound {
      guard let key = certificate.facts.key else { continue }
      for group in Self.pairingGroups(certificate.file) {
        guard let keys = keysByGroup[group], !keys.contains(where: { $0.identity == key.identity }) else { continue }
        let names = keys.map { "\($0.file)\($0.line.map { ":\($0)" } ?? "")" }.sorted()
        out.append(Finding(
          severity: .error, file: certificate.file, line: certificate.line, subject: "certificate \(certificate.facts.subject)",
          problem: "does not match its private key \(names.joined(separator: ", ")): the key was replaced, or the certificate belongs to another key",
          action: "find the key this certificate was issued for, or issue a new certificate for the key in use"))
        break
      }
    }
    return out
  }

  /// `file:PATH` (same file) and `name:STEM@DIR`, where DIR is the file's directory, or
  /// its parent for the usual CA subdirectories (private, certs, ...).
  static func pairingGroups(_ path: String) -> [String] {
    // Plain string work on the path as the walk gave it (URL's parsing cost more than the
    // checks of a key).
    var parts = path.split(separator: "/", omittingEmptySubsequences: false)
    var stem = Substring(parts.popLast() ?? "")
    let extensions = [".pem", ".crt", ".cer", ".der", ".key", ".cert", ".pub", ".csr"]
    while let ext = extensions.first(where: { stem.hasSuffix($0) && stem.count > $0.count }) { stem.removeLast(ext.count) }
    if let last = parts.last, ["private", "certs", "newcerts", "keys", "csr", "ssl"].contains(last) { parts.removeLast() }
    let dir = parts.isEmpty ? "." : parts == [""] ? "/" : parts.joined(separator: "/")
    return ["file:" + path, "name:" + stem + "@" + dir]
  }

  /// Every certificate whose issuer is among the CA certificates found must verify to
  /// them (signatures, CA flags, constraints; not validity dates, reported apart).
  func chainFindings() -> [Finding] {
    let authorities = certificatesFound.filter { $0.facts.isCA && !$0.facts.der.isEmpty }
    guard !authorities.isEmpty else { return [] }
    var seen = Set<[UInt8]>()
    let unique = authorities.filter { seen.insert($0.facts.der).inserted }
    let verifier = ChainVerifier(roots: unique.filter(\.facts.selfIssued).map(\.facts.der),
                                 intermediates: unique.filter { !$0.facts.selfIssued }.map(\.facts.der))
    let subjects = Set(unique.map(\.facts.subject))
    var out: [Finding] = []
    for certificate in certificatesFound where !certificate.facts.selfIssued && subjects.contains(certificate.facts.issuer) {
      guard let reason = verifier.verify(certificate.facts.der) else { continue }
      out.append(Finding(
        severity: .error, file: certificate.file, line: certificate.line, subject: "certificate \(certificate.facts.subject)",
        problem: "does not verify to the CA certificates found (issuer \(certificate.facts.issuer)): \(reason)",
        action: "check that this CA issued it; a certificate that fails here was altered or issued by another key"))
    }
    return out
  }

  /// CRLs outside the OpenSSL CA directories (those are checked with their index): not
  /// past their next update, and signed by their issuer when its certificate was found.
  func crlFindings() -> [Finding] {
    var out: [Finding] = []
    for found in crlsFound where !caDirectoriesChecked.contains(where: { found.file.hasPrefix($0 + "/") }) {
      guard let facts = KeyInspection.crl(pem: found.pem, issuerPEM: nil) else {
        out.append(Finding(severity: .warning, file: found.file, line: found.line, subject: "CRL", problem: "cannot be read",
                           action: "check whether the file is damaged"))
        continue
      }
      let subject = "CRL of \(facts.issuer)"
      if let next = facts.nextUpdate, next < options.now {
        out.append(Finding(severity: .warning, file: found.file, line: found.line, subject: subject,
                           problem: "stale: its next update was due \(Self.date(next))",
                           action: "replace it with the current CRL from its CA (or remove the stale copy)"))
      }
      let issuers = certificatesFound.filter { $0.facts.subject == facts.issuer && $0.facts.isCA }
      guard !issuers.isEmpty else { continue }
      let verifies = issuers.contains { KeyInspection.crl(pem: found.pem, issuerDER: $0.facts.der)?.signatureVerifies == true }
      if !verifies {
        out.append(Finding(severity: .error, file: found.file, line: found.line, subject: subject,
                           problem: "its signature does not verify under the certificate of \(facts.issuer) found here",
                           action: "treat it as forged or damaged: take the CRL from the CA again"))
      }
    }
    return out
  }
}
