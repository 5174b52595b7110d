import Dispatch
import Foundation
import RehostBase

/// How a run stops when it is interrupted (SIGINT, SIGTERM, SIGHUP).
///
/// A signal becomes an error: the work in progress notices it at its next ``check()``
/// (every archive entry and every block copied), throws, and unwinds through the same
/// code that undoes any failed run (temporary files removed, staging directory deleted),
/// so cleanup is never racing the work it cleans up after. Helper programs are told to
/// stop at once (``register(removing:wake:)``), so nothing waits on them. The process
/// ends by itself only when no work is registered (nothing to undo), or when unwinding
/// takes longer than ``grace``: then it removes the temporary files it knows of (unlink,
/// safe while other threads run) and leaves staging directories to the next run, which
/// removes the leftovers of dead runs. Signals are received on a Dispatch queue, never
/// in a signal handler, and the process never calls `exit` while other threads work.
public final class Interruption: @unchecked Sendable {
  public static let shared = Interruption()

  /// Seconds the work gets to unwind before the process ends anyway.
  public var grace: Double = 20

  private struct Work {
    let removing: String?
    let wake: (@Sendable () -> Void)?
  }

  private let lock = NSLock()
  private var works: [Int: Work] = [:]
  private var nextID = 0
  private var received: Int32 = 0
  private var sources: [DispatchSourceSignal] = []
  private let queue = DispatchQueue(label: "rehost.interruption")

  /// The signal that interrupted the run (0 if none).
  public var signalNumber: Int32 {
    lock.lock()
    defer { lock.unlock() }
    return received
  }

  /// Starts receiving the signals (and ignores SIGPIPE). Call once, early in `main`.
  public func install() {
    // A helper program (dump tool, database client) that dies must surface as EPIPE on
    // our next write, with its own error message, not kill rehost silently.
    signal(SIGPIPE, SIG_IGN)
    for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
      signal(signalNumber, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
      source.setEventHandler { [unowned self] in self.received(signalNumber) }
      source.resume()
      sources.append(source)
    }
  }

  /// Throws ``RehostError/Kind/interrupted`` once a signal has arrived.
  public func check() throws {
    let signal = signalNumber
    if signal != 0 { throw Self.error(signal) }
  }

  /// Registers work in progress: a temporary file to remove if the process must end
  /// before the work unwinds, and/or an action that makes blocked work return (kill a
  /// helper program). Returns a token for ``unregister(_:)``.
  public func register(removing path: String? = nil, wake: (@Sendable () -> Void)? = nil) -> Int {
    lock.lock()
    defer { lock.unlock() }
    nextID += 1
    works[nextID] = Work(removing: path, wake: wake)
    return nextID
  }

  public func unregister(_ id: Int) {
    lock.lock()
    works[id] = nil
    finals[id] = nil
    lock.unlock()
  }

  /// Registers an action for the moment the process ends because of a signal, without
  /// making the run wait for unwinding (a terminal's echo to turn back on while a
  /// passphrase is asked for). Returns a token for ``unregister(_:)``.
  public func onEnd(_ action: @escaping @Sendable () -> Void) -> Int {
    lock.lock()
    defer { lock.unlock() }
    nextID += 1
    finals[nextID] = action
    return nextID
  }

  private var finals: [Int: @Sendable () -> Void] = [:]

  static func error(_ signal: Int32) -> RehostError {
    RehostError(.interrupted, "interrupted by \(name(of: signal)); nothing partial was kept",
                hint: "run the command again when ready")
  }

  private func received(_ signal: Int32) {
    lock.lock()
    let first = received == 0
    if first { received = signal }
    let pending = Array(works.values)
    lock.unlock()
    guard first, !pending.isEmpty else {
      // Nothing to undo, or asked twice: stop now.
      end(signal, removing: pending.compactMap(\.removing), note: pending.isEmpty ? nil : "stopped before the half-done work was undone")
    }
    pending.forEach { $0.wake?() }
    queue.asyncAfter(deadline: .now() + grace) { [self] in
      lock.lock()
      let left = works.values.compactMap(\.removing)
      lock.unlock()
      end(signal, removing: left, note: "the half-done work did not unwind in time")
    }
  }

  private func end(_ signal: Int32, removing paths: [String], note: String?) -> Never {
    for path in paths { unlink(path) }
    lock.lock()
    let actions = Array(finals.values)
    lock.unlock()
    actions.forEach { $0() }
    let message = note.map { "rehost: interrupted by \(Self.name(of: signal)); \($0): temporary files were removed, and the next run removes any staging directory left\n" }
      ?? "rehost: interrupted by \(Self.name(of: signal))\n"
    _ = message.withCString { Glibc.write(2, $0, strlen($0)) }
    _exit(128 + signal)
  }

  static func name(of signal: Int32) -> String {
    switch signal {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGHUP: "SIGHUP"
    default: "signal \(signal)"
    }
  }
}
