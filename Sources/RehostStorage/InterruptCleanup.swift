import Dispatch
import Foundation

/// Undoes half-done work when the process is interrupted (SIGINT, SIGTERM, SIGHUP):
/// temporary files are unlinked and staging directories removed before exiting with
/// 128 + the signal number. SIGKILL cannot be caught; what it leaves is named so that
/// it never passes as finished work, and restore removes its own leftovers.
public final class InterruptCleanup: @unchecked Sendable {
  public static let shared = InterruptCleanup()

  private let lock = NSLock()
  private var actions: [Int: @Sendable () -> Void] = [:]
  private var nextID = 0
  private var sources: [DispatchSourceSignal] = []
  private let queue = DispatchQueue(label: "rehost.interrupt")

  /// Starts catching the signals (and ignores SIGPIPE). Call once, early in `main`.
  public func install() {
    // A helper program (dump tool, database client) that dies must surface as EPIPE on
    // our next write, with its own error message, not kill rehost silently.
    signal(SIGPIPE, SIG_IGN)
    for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
      signal(signalNumber, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
      source.setEventHandler { [unowned self] in self.interrupted(by: signalNumber) }
      source.resume()
      sources.append(source)
    }
  }

  /// Registers an undo action; returns a token for ``unregister(_:)``.
  public func register(_ action: @escaping @Sendable () -> Void) -> Int {
    lock.lock()
    defer { lock.unlock() }
    nextID += 1
    actions[nextID] = action
    return nextID
  }

  public func unregister(_ id: Int) {
    lock.lock()
    actions[id] = nil
    lock.unlock()
  }

  private func interrupted(by signalNumber: Int32) {
    lock.lock()
    let pending = Array(actions.values)
    actions.removeAll()
    lock.unlock()
    pending.forEach { $0() }
    FileHandle.standardError.write(Data("rehost: interrupted; nothing partial was kept\n".utf8))
    exit(128 + signalNumber)
  }
}
