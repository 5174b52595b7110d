import CPosix
import Foundation
import RehostBase

/// A helper program (a dump tool, a database client) run with pipes to its standard
/// input and output. Its standard error goes to a nameless scratch file, so it can
/// never fill a pipe and stall, and its tail is quoted when the program fails.
///
/// A rehost run that is interrupted kills its children, so no dump goes on writing
/// into a pipe nobody reads.
public final class Subprocess {
  public enum Stream { case pipe, null }

  /// How the program ended.
  public enum Termination: Equatable, Sendable {
    case exited(Int32)
    case signaled(Int32)

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
      switch self {
      case .exited(let code): return "exited with status \(code)"
      case .signaled(let signal): return "was killed by signal \(signal)"
      }
    }
  }

  public let program: String
  public let pid: pid_t
  private let processGroup: Bool
  private var stdinFD: Int32 = -1
  private var stdoutFD: Int32 = -1
  private let stderrFD: Int32
  private var termination: Termination?
  private var cleanup = 0

  /// Starts `program` (looked up in PATH) with `arguments`.
  /// - Parameter environment: variables added to (or replacing) rehost's own.
  /// - Parameter processGroup: start it in a process group of its own, so that stopping it
  ///   stops everything it started (a runbook's shell command and its children).
  public init(_ program: String, _ arguments: [String], environment: [String: String] = [:],
              stdin: Stream = .null, stdout: Stream = .pipe, processGroup: Bool = false) throws {
    self.program = program
    self.processGroup = processGroup
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }

    var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1]
    func closePipes() { (inPipe + outPipe).filter { $0 >= 0 }.forEach { close($0) } }
    if stdin == .pipe, rehost_pipe_cloexec(&inPipe) != 0 { throw SystemError.io("create a pipe for", program) }
    if stdout == .pipe, rehost_pipe_cloexec(&outPipe) != 0 { closePipes(); throw SystemError.io("create a pipe for", program) }
    // 1 MiB instead of 64 KiB: the tool and rehost then run ahead of each other instead of
    // taking turns (a PostgreSQL load through rehost took 25 % longer than from a file).
    for fd in [inPipe[1], outPipe[0]] where fd >= 0 { _ = rehost_pipe_grow(fd, 1 << 20) }
    stderrFD = Subprocess.scratchFile()
    if stdin == .pipe { posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0) }
    else { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
    if stdout == .pipe { posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1) }
    else { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
    if stderrFD >= 0 { posix_spawn_file_actions_adddup2(&actions, stderrFD, 2) }

    // The child starts with no signals blocked and default dispositions (rehost ignores
    // SIGPIPE; a dump tool must not).
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t(), allSignals = sigset_t()
    sigemptyset(&noSignals)
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
    if processGroup {
      posix_spawnattr_setpgroup(&attributes, 0)
      flags |= POSIX_SPAWN_SETPGROUP
    }
    posix_spawnattr_setflags(&attributes, Int16(flags))

    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var child: pid_t = 0
    let spawned = posix_spawnp(&child, program, &actions, &attributes, argv, envp)
    if inPipe[0] >= 0 { close(inPipe[0]) }
    if outPipe[1] >= 0 { close(outPipe[1]) }
    guard spawned == 0 else {
      if inPipe[1] >= 0 { close(inPipe[1]) }
      if outPipe[0] >= 0 { close(outPipe[0]) }
      if stderrFD >= 0 { close(stderrFD) }
      throw RehostError(.failure, "cannot run \(program): \(String(cString: strerror(spawned)))",
                        hint: spawned == ENOENT ? "install it (see the README's database section) or put it on PATH" : nil)
    }
    pid = child
    stdinFD = inPipe[1]
    stdoutFD = outPipe[0]
    // An interrupted run stops its helpers at once, so nothing waits on them.
    let target = processGroup ? -child : child
    cleanup = Interruption.shared.register(wake: { kill(target, SIGKILL) })
  }

  deinit {
    if termination == nil {
      kill(processGroup ? -pid : pid, SIGKILL)
      _ = try? wait()
    }
    closeInput()
    if stdoutFD >= 0 { close(stdoutFD) }
    if stderrFD >= 0 { close(stderrFD) }
  }

  /// Writes all of `bytes` to the program's standard input.
  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard writeFully(stdinFD, bytes) else {
      if errno == EPIPE { throw RehostError(.failure, "\(program) stopped reading its input\(stderrSuffix())") }
      throw SystemError.io("write to", program)
    }
  }

  public func write(_ text: String) throws {
    try Array(text.utf8).withUnsafeBytes { try write($0) }
  }

  /// Closes the program's standard input (it sees the end of its input).
  public func closeInput() {
    if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
  }

  /// Reads from the program's standard output; 0 at its end.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    while true {
      let n = Glibc.read(stdoutFD, buffer.baseAddress, buffer.count)
      if n >= 0 { return n }
      if errno != EINTR { throw SystemError.io("read the output of", program) }
    }
  }

  /// Reads the program's standard output to its end; nil (the program stopped) once it
  /// is more than `limit` bytes.
  public func readAll(limit: Int) throws -> [UInt8]? {
    var bytes: [UInt8] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
    defer { buffer.deallocate() }
    while true {
      let n = try read(into: buffer)
      if n == 0 { return bytes }
      bytes += buffer[0..<n]
      if bytes.count > limit {
        terminate()
        return nil
      }
    }
  }

  /// Waits for the program to end.
  @discardableResult
  public func wait() throws -> Termination {
    if let termination { return termination }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
      if errno != EINTR { throw SystemError.io("wait for", program) }
    }
    return ended(with: status)
  }

  /// Whether the program has ended (without waiting).
  public func hasEnded() -> Bool {
    if termination != nil { return true }
    var status: Int32 = 0
    guard waitpid(pid, &status, WNOHANG) == pid else { return false }
    ended(with: status)
    return true
  }

  @discardableResult
  private func ended(with status: Int32) -> Termination {
    Interruption.shared.unregister(cleanup)
    // WIFEXITED and friends are macros that do not import; decode by hand.
    let result: Termination = (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
    termination = result
    return result
  }

  /// Sends `signal` to the program (to its whole process group when it has one).
  public func send(_ signal: Int32) {
    if termination == nil { kill(processGroup ? -pid : pid, signal) }
  }

  /// Kills the program (if still running) and reaps it.
  public func terminate() {
    if termination == nil { kill(processGroup ? -pid : pid, SIGKILL) }
    _ = try? wait()
  }

  /// Waits, and throws unless the program exited with status 0.
  public func waitForSuccess(doing what: String) throws {
    let result = try wait()
    guard result.succeeded else {
      throw RehostError(.failure, "\(program) \(result.description) while \(what)\(stderrSuffix())",
                        hint: "fix what it reports and run again")
    }
  }

  /// The last lines the program wrote to its standard error (up to `limit` bytes).
  public func errorOutput(limit: Int = 2048) -> String {
    guard stderrFD >= 0 else { return "" }
    var st = stat()
    guard fstat(stderrFD, &st) == 0, st.st_size > 0 else { return "" }
    let count = Int(min(st.st_size, off_t(limit)))
    var bytes = [UInt8](repeating: 0, count: count)
    let n = bytes.withUnsafeMutableBytes { pread(stderrFD, $0.baseAddress, count, off_t(st.st_size) - off_t(count)) }
    guard n > 0 else { return "" }
    return String(decoding: bytes[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  private func stderrSuffix() -> String {
    let text = errorOutput()
    return text.isEmpty ? "" : ":\n    " + text.split(separator: "\n").suffix(6).joined(separator: "\n    ")
  }

  /// A nameless file for the child's standard error.
  private static func scratchFile() -> Int32 {
    SpoolFile.namelessFile(in: SpoolFile.defaultDirectory, prefix: "rehost-stderr-")
  }
}

/// A program's standard output as a ``ByteSource``.
public final class SubprocessOutput: ByteSource {
  public let process: Subprocess
  public init(_ process: Subprocess) { self.process = process }
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try process.read(into: buffer) }
}
