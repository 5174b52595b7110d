import Dispatch
import Foundation
import RehostBase
import RehostCrypto
import RehostStorage

/// Runs a command step's shell command: in the run's working directory, with `rehost`
/// meaning this very binary whatever PATH says, its output (standard error merged in)
/// shown live, kept in a file and hashed, a time limit enforced on its whole process group.
struct CommandStep {
  struct Outcome {
    let status: Int32
    let timedOut: Bool
    let outputSHA256: String
    let bytes: Int64
    let captured: [(String, String)]
    /// Captures whose pattern found nothing.
    let missing: [String]
  }

  let command: String
  let workdir: String
  let outputPath: String
  let timeout: Double?
  let captures: [(name: String, pattern: String)]
  let environment: [String: String]
  /// A directory of the run's own (in the journal directory) for the `rehost` link.
  let binDirectory: String

  func run(show: (UnsafeRawBufferPointer) -> Void) throws -> Outcome {
    let bin = try Self.link(in: binDirectory)
    let output = try AtomicFile(path: outputPath, mode: 0o600)
    var env = environment
    env["PATH"] = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    // The shell waits for one line on its standard input before it runs the command, so
    // that the command never runs unrecorded; a run that dies first closes the pipe, and
    // the shell exits without running it.
    let script = "IFS= read -r _ || exit 125; exec </dev/null; cd -- \"$1\" || exit 127; exec 2>&1; eval \"$2\""
    let process = try Subprocess("/bin/sh", ["-c", script, "rehost-runbook", workdir, command],
                                 environment: env, stdin: .pipe, stdout: .pipe, processGroup: true)
    // Until the command ends, its process group is named beside its output: a run killed
    // outright (SIGKILL, a crash) cannot stop it, and the next run must not start it twice.
    let pidFile = outputPath + ".pid"
    do {
      let named = try AtomicFile(path: pidFile, mode: 0o600)
      try Array("\(process.pid)\n".utf8).withUnsafeBytes { try named.write($0) }
      try named.commit(replace: true)
    } catch {
      process.terminate()  // it never ran: its shell was still waiting for the line
      throw error
    }
    defer { unlink(pidFile) }
    try process.write("go\n")
    process.closeInput()
    let limit = TimeLimit(group: process.pid)
    if let timeout {
      DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { limit.expire() }
    }
    let hasher = SHA256()
    var total: Int64 = 0
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    do {
      while true {
        let n = try buffer.withUnsafeMutableBytes { try process.read(into: $0) }
        if n == 0 { break }
        try buffer.withUnsafeBytes { raw in
          let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
          hasher.update(chunk)
          try output.write(chunk)
          show(chunk)
        }
        total += Int64(n)
      }
    } catch {
      limit.disarm()
      process.terminate()
      throw error
    }
    // The limit holds until the shell is reaped (it may close its output and go on), and
    // not after: a group with no member left could see its id reused.
    let termination: Subprocess.Termination
    do { termination = try process.wait() } catch { limit.disarm(); throw error }
    limit.disarm()
    try output.commit(replace: true)
    try Interruption.shared.check()
    let status: Int32
    switch termination {
    case .exited(let code): status = code
    case .signaled(let signal): status = 128 + signal
    }
    let (captured, missing) = try capture()
    return Outcome(status: limit.expired ? 124 : status, timedOut: limit.expired, outputSHA256: Hex.encode(hasher.finalize()),
                   bytes: total, captured: captured, missing: missing)
  }

  /// The first group of each capture's first match, in the output's last 8 MiB.
  private func capture() throws -> ([(String, String)], [String]) {
    guard !captures.isEmpty else { return ([], []) }
    let handle = try FileSource(path: outputPath, what: "command output")
    var bytes = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = try chunk.withUnsafeMutableBytes { try handle.read(into: $0) }
      if n == 0 { break }
      bytes += chunk[0..<n]
      if bytes.count > 16 << 20 { bytes.removeFirst(bytes.count - (8 << 20)) }
    }
    let text = String(decoding: bytes.suffix(8 << 20), as: UTF8.self)
    var found: [(String, String)] = [], missing: [String] = []
    for (name, pattern) in captures {
      let regex = try NSRegularExpression(pattern: pattern)
      if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), match.numberOfRanges > 1,
         let range = Range(match.range(at: 1), in: text) {
        found.append((name, String(text[range])))
      } else {
        missing.append(name)
      }
    }
    return (found, missing)
  }

  /// Refuses to go on while the command a stopped run started still runs: its process
  /// group (named in `pidFile`) still has members.
  static func refuseIfStillRunning(pidFile: String, step: String) throws {
    guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let group = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
          group > 1 else { return }
    let members = liveMembers(ofGroup: group)
    guard let first = members.first else {
      unlink(pidFile)
      return
    }
    let command = (try? String(contentsOfFile: "/proc/\(first)/cmdline", encoding: .utf8))?
      .split(separator: "\0").joined(separator: " ") ?? "?"
    throw RehostError(.busy, "the command of step `\(step)` that the stopped run started is still running (process group \(group), \(members.count) processes: \(command))",
                      hint: "wait for it to end, or stop it (kill -TERM -- -\(group)), then run again")
  }

  /// The processes of a process group that are still running (not zombies, which an init
  /// that does not reap would keep forever), from /proc.
  static func liveMembers(ofGroup group: pid_t) -> [pid_t] {
    guard kill(-group, 0) == 0 || errno == EPERM else { return [] }
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { name -> pid_t? in
      guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")") else { return nil }
      // After "PID (COMMAND)": state, ppid, pgrp, ...
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      guard fields.count > 2, fields[0] != "Z", fields[0] != "X", pid_t(fields[2]) == group else { return nil }
      return pid
    }.sorted()
  }

  /// `dir` holding `rehost`, a link to this very binary, to put first on the command's PATH.
  static func link(in dir: String) throws -> String {
    mkdir(dir, 0o700)
    let link = dir + "/rehost"
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    if (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) != me {
      unlink(link)
      guard symlink(me, link) == 0 else { throw SystemError.io("create", link) }
    }
    return dir
  }
}

/// A command's time limit: when it expires, its process group gets SIGTERM, then SIGKILL
/// 5 s later; once disarmed (the command ended), nothing is sent.
final class TimeLimit: @unchecked Sendable {
  private let lock = NSLock()
  private let group: pid_t
  private var armed = true
  private(set) var expired = false

  init(group: pid_t) { self.group = group }

  func expire() {
    guard send(SIGTERM) else { return }
    lock.lock()
    expired = true
    lock.unlock()
    DispatchQueue.global().asyncAfter(deadline: .now() + 5) { [self] in _ = send(SIGKILL) }
  }

  func disarm() {
    lock.lock()
    armed = false
    lock.unlock()
  }

  private func send(_ signal: Int32) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    if armed { kill(-group, signal) }
    return armed
  }
}
