import Foundation
import RehostCrypto

/// Consistency of an OpenSSL CA directory (`openssl ca` layout: index.txt, serial,
/// newcerts/, crl/, private/): the index against the issued certificates, the serial
/// counter, the CRL, and the private keys' permissions.
struct CADirectory {
  let path: String
  /// Paths from openssl.cnf (`$dir` expanded), with `openssl ca`'s usual defaults.
  let newCerts: String, certificate: String, crl: String, privateDir: String

  init(path: String) {
    self.path = path
    var settings: [String: String] = [:]
    if let text = try? String(contentsOfFile: path + "/openssl.cnf", encoding: .utf8) {
      for line in text.split(separator: "\n") {
        let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let parts = content.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { continue }
        let key = parts[0].trimmingCharacters(in: .whitespaces), value = parts[1].trimmingCharacters(in: .whitespaces)
        if settings[key] == nil { settings[key] = value }
      }
    }
    let dir = settings["dir"] ?? path
    func setting(_ key: String, _ fallback: String) -> String {
      (settings[key] ?? fallback).replacingOccurrences(of: "$dir", with: dir)
    }
    newCerts = setting("new_certs_dir", path + "/newcerts")
    certificate = setting("certificate", path + "/certs/ca.cert.pem")
    crl = setting("crl", path + "/crl/ca.crl.pem")
    let key = setting("private_key", path + "/private/ca.key.pem")
    privateDir = URL(fileURLWithPath: key).deletingLastPathComponent().path
  }

  struct IndexEntry {
    let line: Int
    let status: Character
    let serial: String
    let subject: String
  }

  func check(now: Int64, add: (Finding) -> Void) {
    func finding(_ severity: Finding.Severity, _ file: String, _ line: Int?, _ problem: String, _ action: String) {
      add(Finding(severity: severity, file: file, line: line, subject: "CA \(path)", problem: problem, action: action))
    }
    let indexPath = path + "/index.txt"
    var entries: [IndexEntry] = []
    let text = (try? String(contentsOfFile: indexPath, encoding: .utf8)) ?? ""
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      guard fields.count == 6, let status = fields[0].first, "VRE".contains(status), !fields[3].isEmpty,
            fields[3].allSatisfy(\.isHexDigit) else {
        finding(.error, indexPath, i + 1, "malformed index.txt line", "repair the line from the issued certificate in newcerts/")
        continue
      }
      entries.append(IndexEntry(line: i + 1, status: status, serial: Self.normalized(fields[3]), subject: fields[5]))
    }

    // Every valid entry's certificate is in newcerts/ with the same serial and subject.
    for entry in entries where entry.status == "V" {
      let file = newCerts + "/" + entry.serial + ".pem"
      let alternatives = [file, newCerts + "/" + (entry.serial.count % 2 == 1 ? "0" : "") + entry.serial + ".pem"]
      guard let certPath = alternatives.first(where: { FileManager.default.fileExists(atPath: $0) }),
            let pem = try? String(contentsOfFile: certPath, encoding: .utf8) else {
        finding(.error, indexPath, entry.line, "valid certificate \(entry.serial) (\(entry.subject)) has no file in \(newCerts)",
                "restore \(entry.serial).pem from a backup, or find out why the index lists a certificate that was never written")
        continue
      }
      guard case .certificate(let cert)? = KeyInspection.inspect(pem: pem).first(where: {
        if case .certificate = $0.item { true } else { false }
      })?.item else {
        finding(.error, certPath, nil, "is not a readable certificate", "restore it from a backup")
        continue
      }
      if Self.normalized(cert.serialHex) != entry.serial || cert.subject != entry.subject {
        finding(.error, certPath, nil, "holds serial \(cert.serialHex) \(cert.subject), but index.txt line \(entry.line) says \(entry.serial) \(entry.subject)",
                "find which of the two was changed; the index and the issued certificates must agree")
      }
    }

    // The serial counter is above every issued serial.
    if let highest = entries.map(\.serial).max(by: Self.less) {
      let serialPath = path + "/serial"
      let next = (try? String(contentsOfFile: serialPath, encoding: .utf8)).map { Self.normalized($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
      if let next, !next.isEmpty, next.allSatisfy(\.isHexDigit) {
        if !Self.less(highest, next) {
          finding(.error, serialPath, 1, "next serial \(next) is not above the highest issued serial \(highest)",
                  "set it above \(highest) before issuing anything, or the CA will reuse a serial number")
        }
      } else {
        finding(.error, serialPath, nil, "missing or unreadable", "recreate it with a value above \(highest)")
      }
    }

    // The CRL: present, signed by the CA, current, and listing every revoked entry.
    if let pem = try? String(contentsOfFile: crl, encoding: .utf8) {
      let issuer = try? String(contentsOfFile: certificate, encoding: .utf8)
      if let facts = KeyInspection.crl(pem: pem, issuerPEM: issuer) {
        if facts.signatureVerifies == false {
          finding(.error, crl, nil, "its signature does not verify under \(certificate)", "regenerate the CRL with `openssl ca -gencrl`")
        }
        if let next = facts.nextUpdate, next < now {
          finding(.error, crl, nil, "stale: its next update was due \(Scan.date(next))", "regenerate the CRL now with `openssl ca -gencrl` and publish it")
        }
        let revoked = Set(facts.revokedSerials.map(Self.normalized))
        for entry in entries where entry.status == "R" && !revoked.contains(entry.serial) {
          finding(.error, indexPath, entry.line, "revoked certificate \(entry.serial) (\(entry.subject)) is missing from the CRL",
                  "regenerate the CRL with `openssl ca -gencrl` and publish it")
        }
      } else {
        finding(.error, crl, nil, "is not a readable CRL", "regenerate it with `openssl ca -gencrl`")
      }
    } else if entries.contains(where: { $0.status == "R" }) {
      finding(.error, crl, nil, "no CRL, yet index.txt has revoked certificates", "generate one with `openssl ca -gencrl` and publish it")
    } else {
      finding(.warning, crl, nil, "no CRL found", "generate one with `openssl ca -gencrl`")
    }

    // Private keys: not readable by group or others, owned by the CA's owner.
    var indexStat = stat()
    let owner = stat(indexPath, &indexStat) == 0 ? indexStat.st_uid : nil
    for name in (try? FileManager.default.contentsOfDirectory(atPath: privateDir)) ?? [] {
      let file = privateDir + "/" + name
      var st = stat()
      guard lstat(file, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
      if st.st_mode & 0o077 != 0 {
        finding(.error, file, nil, String(format: "private key file has mode %04o: readable by group or others", st.st_mode & 0o7777),
                "chmod 600 \(file), then find out who could read it and whether the key must be replaced")
      }
      if let owner, st.st_uid != owner {
        finding(.warning, file, nil, "owned by uid \(st.st_uid), not by the CA's owner (uid \(owner), owner of index.txt)",
                "chown it to the CA's owner")
      }
    }
  }

  /// Upper-case hex without leading zeros ("0" for zero).
  static func normalized(_ hex: String) -> String {
    let trimmed = hex.uppercased().drop { $0 == "0" }
    return trimmed.isEmpty ? "0" : String(trimmed)
  }

  /// Compares normalized hex numbers.
  static func less(_ a: String, _ b: String) -> Bool {
    a.count != b.count ? a.count < b.count : a < b
  }
}
