import Foundation
import Testing

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().path

/// The rehost binary under test (`swift build` puts it in .build/debug; `make test` builds it first).
let rehostBinary: String = {
  if let path = ProcessInfo.processInfo.environment["REHOST_BIN"] { return path }
  return packageRoot + "/.build/debug/rehost"
}()

/// A shell command that changes the byte at `offset` of `file` (inverts its bits). Writing a
/// fixed byte instead leaves random bytes (ciphertext, nonces) unchanged once in 256 runs,
/// and the test then sees an intact archive.
func flipByteCommand(_ file: String, at offset: Int) -> String {
  "b=$(od -An -tu1 -j\(offset) -N1 '\(file)' | tr -d ' ') && printf \"\\\\$(printf %o $((b ^ 255)))\" | dd of='\(file)' bs=1 seek=\(offset) conv=notrunc 2>/dev/null"
}

struct RunResult {
  let status: Int32
  let stdout: String
  let stderr: String
  var output: String { stdout + stderr }
}

/// Runs a program to completion, capturing its output.
///
/// Spawned with posix_spawn and an empty, default signal mask: the test runner's threads
/// block most signals, and a child inheriting that mask misbehaves (Python's
/// multiprocessing in make-corpus.sh hangs). Output goes to scratch files, so no pipe can
/// fill up and stall the child.
@discardableResult
func run(_ program: String, _ arguments: [String], cwd: String, environment: [String: String] = [:]) throws -> RunResult {
  let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rehost-run-\(UUID().uuidString)").path
  let outPath = scratch + ".out", errPath = scratch + ".err"
  defer {
    unlink(outPath)
    unlink(errPath)
  }
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  var attributes = posix_spawnattr_t()
  posix_spawnattr_init(&attributes)
  defer { posix_spawnattr_destroy(&attributes) }
  var noSignals = sigset_t(), allSignals = sigset_t()
  sigemptyset(&noSignals)
  sigfillset(&allSignals)
  posix_spawnattr_setsigmask(&attributes, &noSignals)
  posix_spawnattr_setsigdefault(&attributes, &allSignals)
  posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

  var env = ProcessInfo.processInfo.environment
  for (k, v) in environment { env[k] = v }
  // The shell changes directory, then becomes the program (posix_spawn's chdir action is a GNU extension).
  let argv = (["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", cwd, program] + arguments).map { strdup($0) } + [nil]
  let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
  defer {
    argv.forEach { free($0) }
    envp.forEach { free($0) }
  }
  var pid: pid_t = 0
  let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
  guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  // WIFEXITED / WEXITSTATUS are macros; decode the wait status by hand.
  let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
  let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
  let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
  return RunResult(status: code, stdout: out, stderr: err)
}

/// A temporary directory with helpers for running rehost inside it; removed afterwards.
final class Sandbox {
  let dir: String

  init() throws {
    #expect(FileManager.default.isExecutableFile(atPath: rehostBinary), "build first: \(rehostBinary) is missing (run `make test`)")
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("rehost-e2e-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  deinit {
    _ = try? run("/bin/sh", ["-c", "chmod -R u+rwx \"$0\" 2>/dev/null; rm -rf \"$0\"", dir], cwd: "/")
  }

  func path(_ name: String) -> String { dir + "/" + name }

  @discardableResult
  func rehost(_ arguments: String...) throws -> RunResult { try rehost(arguments) }

  @discardableResult
  func rehost(_ arguments: [String]) throws -> RunResult { try run(rehostBinary, arguments, cwd: dir) }

  @discardableResult
  func sh(_ script: String, environment: [String: String] = [:]) throws -> RunResult {
    try run("/bin/bash", ["-c", script], cwd: dir, environment: environment)
  }

  /// Runs a shell script that must succeed.
  func mustSh(_ script: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let result = try sh(script)
    #expect(result.status == 0, "\(script)\n\(result.output)", sourceLocation: sourceLocation)
  }

  func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

  func read(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

  func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path(name))) }

  /// Creates identities NAME.key / NAME.pub.
  func keygen(_ names: String...) throws {
    for name in names {
      let r = try rehost("keygen", "--out", name)
      #expect(r.status == 0, "\(r.output)")
    }
  }

  /// The sample CA from scripts/make-sample-ca.sh, plus the file kinds a CA tree may
  /// hold: symlinks, a hard link, an empty file, a FIFO, a sparse file, odd modes,
  /// sub-second mtimes.
  func makeSampleCA(at name: String) throws {
    try mustSh("""
      set -e
      '\(packageRoot)/scripts/make-sample-ca.sh' '\(name)' >/dev/null
      cd '\(name)'
      ln -s certs/ca.cert.pem root.pem
      ln -s ../intermediate/certs/ca-chain.cert.pem certs/chain-link.pem
      ln intermediate/certs/ca.cert.pem intermediate/certs/hardlinked.cert.pem
      : > intermediate/empty.txt
      mkfifo intermediate/signer.fifo
      mkdir -m 2750 intermediate/setgid-dir
      echo x > intermediate/setgid-dir/inside
      chmod 0640 intermediate/setgid-dir/inside
      truncate -s 20M intermediate/sparse.img && echo data | dd of=intermediate/sparse.img bs=1 seek=5000000 conv=notrunc 2>/dev/null
      touch -h -d '2021-03-04 05:06:07.123456789' root.pem intermediate/index.txt
      touch -d '2001-01-01 00:00:00.5' intermediate/setgid-dir
      """)
  }

  /// One line per entry under `root`: relative path, type, mode, size, mtime (ns),
  /// symlink target, content hash; plus hard-link groups. Equal listings mean equal trees.
  func listing(_ root: String) throws -> [String] {
    let r = try sh("""
      cd '\(root)' && find . -printf '%p|%y|%m|%s|%T@|%l|%n\\n' | sort | while IFS='|' read -r p y m s t l n; do
        h=-; [ "$y" = f ] && h=$(sha256sum < "$p" | cut -c1-16)
        [ "$y" = d ] && s=-
        echo "$p $y $m $s $t ${l:--} $h $n"
      done
      echo hardlink-groups:
      find . -type f -links +1 -printf '%i %p\\n' | sort | awk '{g[$1]=g[$1]" "$2} END {for (k in g) print g[k]}' | sort
      """)
    #expect(r.status == 0, "\(r.output)")
    return r.stdout.split(separator: "\n").map(String.init)
  }

  /// No restore output and no staging directory beside it.
  func expectNothingRestored(_ target: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(!exists(target), "\(target) exists", sourceLocation: sourceLocation)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("rehost-staging") }
    #expect(leftovers.isEmpty, "staging left: \(leftovers)", sourceLocation: sourceLocation)
  }
}
