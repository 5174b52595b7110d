import Foundation
import RehostBase
import RehostRunbooks
import RehostStorage

/// Asks the people at the console, on the controlling terminal: confirmations, values,
/// witnesses' key files and passphrases, decisions. A signal (Ctrl-C) at a prompt stops
/// the run at once; the journal is consistent (every line was written whole).
final class TerminalPrompter: RunbookPrompter {
  private let tty: Int32
  /// Written to when a signal arrives, so that a prompt waiting on the terminal returns.
  private var wake: [Int32] = [-1, -1]
  private var token = 0

  init() throws {
    tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
    guard tty >= 0 else {
      throw RehostError(.usage, "a runbook run asks people for confirmations and values, and there is no terminal to ask on",
                        hint: "run it on a terminal, or give --answers FILE (docs/RUNBOOK.md)")
    }
    guard pipe(&wake) == 0 else { throw SystemError.io("create a pipe for", "the terminal") }
    wake.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
    let writer = wake[1]
    token = Interruption.shared.register(wake: { _ = [UInt8(1)].withUnsafeBytes { write(writer, $0.baseAddress, 1) } })
  }

  deinit {
    Interruption.shared.unregister(token)
    close(tty)
    wake.forEach { close($0) }
  }

  static func writeOutput(_ bytes: UnsafeRawBufferPointer) {
    FileHandle.standardOutput.write(Data(bytes))
  }

  /// Straight to the file descriptor, like the commands' output, so the two keep their order.
  static func writeLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
  }

  func show(_ text: String) { Self.writeLine(text) }
  func output(_ bytes: UnsafeRawBufferPointer) { Self.writeOutput(bytes) }

  private func say(_ text: String) { _ = text.withCString { write(tty, $0, strlen($0)) } }

  /// One line from the terminal (echo off when `secret`).
  private func ask(_ prompt: String, secret: Bool = false) throws -> String {
    fflush(nil)  // what was printed shows before the prompt
    var saved = termios()
    if secret {
      tcgetattr(tty, &saved)
      var quiet = saved
      quiet.c_lflag &= ~tcflag_t(ECHO)
      tcsetattr(tty, TCSAFLUSH, &quiet)
    }
    defer {
      if secret {
        tcsetattr(tty, TCSAFLUSH, &saved)
        say("\n")
      }
    }
    say(prompt)
    var bytes: [UInt8] = []
    while true {
      var fds = [pollfd(fd: tty, events: Int16(POLLIN), revents: 0), pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0)]
      if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; throw SystemError.io("read from", "the terminal") }
      try Interruption.shared.check()
      if fds[1].revents != 0 { try Interruption.shared.check() }
      var c: UInt8 = 0
      let n = read(tty, &c, 1)
      if n <= 0 { throw RehostError(.usage, "the terminal closed while a step waited for an answer") }
      if c == 0x0a { return String(decoding: bytes, as: UTF8.self) }
      bytes.append(c)
    }
  }

  private func reason(_ what: String) throws -> String {
    while true {
      let text = try ask("   Reason to \(what) (journalled as an exception): ").trimmingCharacters(in: .whitespaces)
      if !text.isEmpty { return text }
    }
  }

  func confirm(_ view: StepView) throws -> Answer<Bool> {
    while true {
      switch try ask("   Done? [y]es, [s]kip: ").lowercased() {
      case "y", "yes": return .answer(true)
      case "s", "skip": return .skip(reason: try reason("skip this step"))
      default: continue
      }
    }
  }

  func run(_ view: StepView, command: String) throws -> Answer<Bool> {
    while true {
      switch try ask("   Run it? [y]es, [s]kip: ").lowercased() {
      case "y", "yes": return .answer(true)
      case "s", "skip": return .skip(reason: try reason("skip this step"))
      default: continue
      }
    }
  }

  func value(_ view: StepView, prompt: String, problem: String?) throws -> Answer<String> {
    if let problem { say("   !! \(problem)\n") }
    let text = try ask("   \(prompt) (or !skip): ")
    return text == "!skip" ? .skip(reason: try reason("skip this step")) : .answer(text)
  }

  func witness(_ view: StepView, number: Int, of needed: Int, problem: String?) throws -> Answer<WitnessKey> {
    if let problem { say("   !! \(problem)\n") }
    let text = try ask("   Witness \(number) of \(needed): your key file (NAME.key), or !skip: ")
    return text == "!skip" ? .skip(reason: try reason("skip this step")) : .answer(WitnessKey(path: text, passphraseFile: nil))
  }

  func passphrase(for key: WitnessKey) throws -> [UInt8] {
    Array(try ask("   Passphrase for \(key.path): ", secret: true).utf8)
  }

  func interruptedCommand(_ view: StepView) throws -> Decision {
    while true {
      switch try ask("   A run that stopped had started this command, which is not idempotent. [r]etry, mark [d]one, [s]kip: ").lowercased() {
      case "r", "retry": return .retry
      case "d", "done": return .accept(reason: try reason("mark it done without running it again"))
      case "s", "skip": return .skip(reason: try reason("skip this step"))
      default: continue
      }
    }
  }

  func failedCheck(_ view: StepView, status: Int32) throws -> Decision {
    while true {
      switch try ask("   [r]etry, [a]ccept the failure with a reason, [s]kip, [q]uit: ").lowercased() {
      case "r", "retry": return .retry
      case "a", "accept": return .accept(reason: try reason("accept this failed check"))
      case "s", "skip": return .skip(reason: try reason("skip this step"))
      case "q", "quit": throw RehostError(.failure, "check `\(view.step.id)` failed (exit \(status)); stopped", hint: "run again to retry it")
      default: continue
      }
    }
  }
}
