import Foundation
import RehostBase
import RehostCrypto
import RehostServices
import RehostStorage

/// `rehost runbook report`: the auditor's report of a run, made from its verified
/// journal: who did what when, witnessed by whom, the values recorded, each command with
/// its status and output digest, the files involved, the exceptions, and the verdict.
public enum RunReport {
  public static func render(_ state: JournalState, runbook: Runbook?, directory: String, policy: TrustPolicy,
                            format: DocumentFormat) -> String {
    var doc = Document(format: format, title: "Report: \(state.title)")
    let begin = state.entries[0]
    let people = Dictionary(policy.keys.map { ($0.key.fingerprint(), $0.path) }, uniquingKeysWith: { a, _ in a })
    func who(_ fingerprint: String) -> String { people[fingerprint].map { "\($0) (\(fingerprint.prefix(16))…)" } ?? "\(fingerprint.prefix(16))…" }
    let last = state.entries.last!
    doc.paragraph(state.ended
                    ? "Verdict: the journal verifies (\(state.entries.count) lines: chain and every signature intact, \(policy.source) met); the run is complete."
                    : "Verdict: the journal verifies (\(state.entries.count) lines: chain and every signature intact, \(policy.source) met); the run is NOT complete.",
                  style: "verdict")
    doc.table(["", ""], [
      ["Runbook", "\(begin.field("file")?.string ?? "?"), SHA-256 \(state.runbookSHA256)"],
      ["Policy", "\(policy.source), SHA-256 \(begin.field("policy_sha256")?.string ?? "?")"],
      ["Working directory", state.workdir],
      ["Journal", "\(directory)/\(JournalFile.name), head SHA-256 \(state.head)"],
      ["Began", "\(begin.time) by \(begin.field("as")?.string ?? "?"), key \(who(begin.actor))"],
      ["Last line", "\(last.time) (\(last.event.rawValue))"],
      ["Exceptions", state.exceptions.isEmpty ? "none" : "\(state.exceptions.count)"],
    ])
    if !state.params.isEmpty { doc.heading(2, "Params"); doc.table(["Param", "Value"], state.params.map { [$0.0, $0.1] }) }

    doc.heading(2, "Steps")
    let ids = runbook?.steps.map(\.id) ?? state.entries.compactMap(\.step).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    for (i, id) in ids.enumerated() {
      let step = runbook?.steps.first { $0.id == id }
      let events = state.entries.filter { $0.step == id }
      let exceptions = state.exceptions.filter { $0.step == id }
      let outcome = events.last { $0.event == .finished }?.field("outcome")?.string ?? "not finished"
      doc.beginSection(outcome == "not finished" ? "step unfinished" : exceptions.isEmpty ? "step" : "step exception")
      doc.heading(3, "\(i + 1). \(step?.title ?? id)  [\(step?.kindName ?? "step"), \(id)]: \(outcome)")
      var rows: [[String]] = []
      for e in events {
        switch e.event {
        case .started: rows.append([e.time, "started", who(e.actor), e.field("command")?.string ?? ""])
        case .output:
          var what = "exit \(e.field("status")?.int ?? -1)\(e.field("timed_out")?.bool == true ? " (time limit)" : ""), "
            + "\(e.field("bytes")?.int ?? 0) bytes of output in \(e.field("output")?.string ?? "?"), SHA-256 \(e.field("output_sha256")?.string ?? "?")"
          for (name, value) in e.field("values")?.object ?? [] { what += "; \(name) = \(value)" }
          rows.append([e.time, "output", who(e.actor), what])
        case .confirmed: rows.append([e.time, "confirmed", who(e.actor), ""])
        case .value:
          let matches = e.field("matches")?.bool
          rows.append([e.time, "value", who(e.actor), (e.field("value")?.string ?? "") + (matches == nil ? "" : matches! ? " (equal, as required)" : " (DIFFERS: step failed)")])
        case .witnessed:
          rows.append([e.time, "witnessed", who(e.field("witness")?.string ?? ""), "as \(e.field("role")?.string ?? "?"); statement signed over journal head \(e.prev.prefix(16))…"])
        case .exception: rows.append([e.time, "EXCEPTION", who(e.actor), "\(e.field("kind")?.string ?? ""): \(e.field("reason")?.string ?? "")"])
        case .finished: rows.append([e.time, "finished", who(e.actor), e.field("outcome")?.string ?? ""])
        default: break
        }
      }
      doc.table(["Time", "Event", "By", "Details"], rows)
      doc.endSection()
    }

    doc.heading(2, "Values recorded")
    doc.table(["Value", ""], state.values.map { [$0.0, $0.1] })
    doc.heading(2, "Exceptions")
    if state.exceptions.isEmpty { doc.paragraph("None.") }
    doc.table(["Line", "Step", "Kind", "Reason"], state.exceptions.map { ["\($0.seq + 1)", $0.step ?? "(run)", $0.kind, $0.reason] })

    doc.heading(2, "Files involved")
    doc.paragraph("Files the run's params name, as they are now in the working directory, and every SHA-256 the commands reported.")
    var files: [[String]] = []
    for (name, value) in state.params {
      let path = value.hasPrefix("/") ? value : state.workdir + "/" + value
      for candidate in [path, path + ".seal"] {
        var st = stat()
        guard lstat(candidate, &st) == 0, st.st_mode & S_IFMT == S_IFREG, let digest = try? Self.sha256(candidate) else { continue }
        files.append([candidate == path ? name : name + " (seal)", candidate, "\(st.st_size) bytes, SHA-256 \(digest)"])
      }
    }
    for (reference, value) in state.values where reference.lowercased().contains("sha256") { files.append([reference, "", value]) }
    doc.table(["What", "Path", "Now"], files)

    doc.heading(2, "How to check this report")
    doc.paragraph("Every statement above comes from the journal, whose lines each name the SHA-256 of the line before and carry the runner's Ed25519 signature; witnesses' lines carry their own. `rehost runbook verify \(directory) --policy \(policy.source)` checks them all; docs/RUNBOOK.md shows how to check any line with openssl and sha256sum alone.")
    return doc.text
  }

  static func sha256(_ path: String) throws -> String {
    let source = try FileSource(path: path, what: "file")
    let hasher = SHA256()
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
      if n == 0 { break }
      buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
    return Hex.encode(hasher.finalize())
  }
}
