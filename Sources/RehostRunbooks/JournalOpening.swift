import Foundation
import RehostBase
import RehostCrypto
import RehostServices
import RehostStorage

/// Opens a run's journal for status, verify and report: the policy and runbook it names
/// (unless others are given), and the journal verified against them.
public enum JournalOpening {
  public static func open(_ directory: String, policy policyPath: String?, runbook runbookPath: String?) throws
    -> (JournalState, Runbook?, TrustPolicy) {
    let path = directory + "/" + JournalFile.name
    let bytes = try InputFile.read(path, what: "journal", limit: 1 << 30)
    guard let first = bytes.split(separator: 0x0a).first.flatMap({ JournalEntry.parse(Array($0)) }), first.event == .begin,
          let namedPolicy = first.field("policy")?.string, let namedRunbook = first.field("file")?.string,
          let workdir = first.field("workdir")?.string else {
      throw RehostError(.corrupt, "journal \(path):1: not the beginning of a run", hint: "name the directory `rehost runbook run --journal` wrote")
    }
    let policy = try TrustPolicy.load(policyPath ?? namedPolicy)
    var runbook: Runbook?
    if let runbookPath {
      runbook = try RunbookReader.load(runbookPath, checkingPolicy: false)
    } else {
      // The runbook the journal names, if it is still there (relative to the run's directory).
      let named = namedRunbook.hasPrefix("/") ? namedRunbook : workdir + "/" + namedRunbook
      if FileManager.default.fileExists(atPath: named), let candidate = try? RunbookReader.load(named, checkingPolicy: false) {
        let loose = try JournalVerifier.verify(bytes, path: path, policy: policy, runbook: nil)
        if candidate.sha256 == loose.runbookSHA256 { runbook = candidate }
      }
    }
    return (try JournalVerifier.verify(bytes, path: path, policy: policy, runbook: runbook), runbook, policy)
  }

  /// Says so when the policy file held to is not, byte for byte, the one the run began under.
  public static func policyNote(_ state: JournalState, _ policy: TrustPolicy) -> String? {
    guard let began = state.entries.first?.field("policy_sha256")?.string,
          let bytes = try? InputFile.read(policy.source, what: "policy file", limit: TrustPolicy.maxBytes) else { return nil }
    let now = Hex.encode(SHA256.hash(bytes))
    return now == began ? nil
      : "note: \(policy.source) (SHA-256 \(now.prefix(16))…) is not the policy the run began under (SHA-256 \(began.prefix(16))…)"
  }
}
