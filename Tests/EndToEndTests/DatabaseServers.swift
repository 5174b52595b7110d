import Foundation
import Testing

/// Real PostgreSQL and MariaDB servers from Debian's packages, started once per test run
/// in a temporary directory, listening on a Unix socket there only (no TCP port), and
/// stopped when the test process exits. `make deps` (run by `make test` and `.ci/run`)
/// installs them; where one cannot start, its tests are skipped with the reason.
enum DatabaseServers {
  /// A started server, or why it could not start.
  enum Status: Sendable {
    case running(String)  // the socket directory
    case unavailable(String)

    var isRunning: Bool { if case .running = self { return true } else { return false } }
    var reason: String {
      switch self {
      case .running: return ""
      case .unavailable(let why): return why
      }
    }
  }

  static let root: String = {
    let dir = "/tmp/rehost-test-servers-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    chmod(dir, 0o755)
    atexit { DatabaseServers.stopAll() }
    return dir
  }()

  static let isRoot = geteuid() == 0

  // MARK: PostgreSQL

  static let postgres: Status = {
    let binaries = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
    guard let version = binaries.compactMap(Int.init).max() else {
      return .unavailable("PostgreSQL is not installed (apt-get install postgresql; `make deps` does it)")
    }
    let bin = "/usr/lib/postgresql/\(version)/bin"
    let dir = root + "/pg"
    // PostgreSQL refuses to run as root: as root, the server runs as the postgres user.
    let asServer = isRoot ? "runuser -u postgres -- " : ""
    let start = try? run("/bin/bash", ["-c", """
      set -e
      mkdir -p '\(dir)'
      \(isRoot ? "chown postgres '\(dir)'" : "true")
      \(asServer)'\(bin)/initdb' -D '\(dir)/data' -A trust -U postgres --no-sync >'\(dir)/initdb.log' 2>&1
      \(asServer)'\(bin)/pg_ctl' -D '\(dir)/data' -l '\(dir)/server.log' -w -t 60 \
        -o "-k '\(dir)' -c listen_addresses='' -c fsync=off -c max_connections=50" start >/dev/null
      """], cwd: "/")
    guard let start, start.status == 0 else {
      let log = (try? String(contentsOfFile: dir + "/server.log", encoding: .utf8)) ?? ""
      return .unavailable("PostgreSQL \(version) did not start: \(start?.output ?? "") \(log.suffix(400))")
    }
    postgresStop = "\(asServer)'\(bin)/pg_ctl' -D '\(dir)/data' -m immediate stop"
    return .running(dir)
  }()

  /// libpq conninfo for database `name` on the test server.
  static func postgresConninfo(_ name: String) -> String {
    guard case .running(let dir) = postgres else { return "" }
    return "host=\(dir) user=postgres dbname=\(name)"
  }

  /// psql with the server's socket, as a shell command prefix.
  static var psql: String {
    guard case .running(let dir) = postgres else { return "false" }
    return "psql -X -q -v ON_ERROR_STOP=1 -h '\(dir)' -U postgres"
  }

  // MARK: MariaDB

  static let mariadb: Status = {
    guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/mariadbd") else {
      return .unavailable("MariaDB is not installed (apt-get install mariadb-server; `make deps` does it)")
    }
    let dir = root + "/mariadb"
    let user = isRoot ? "root" : (ProcessInfo.processInfo.environment["USER"] ?? "nobody")
    let start = try? run("/bin/bash", ["-c", """
      set -e
      mkdir -p '\(dir)'
      mariadb-install-db --no-defaults --datadir='\(dir)/data' --user=\(user) --auth-root-authentication-method=normal \
        --skip-test-db >'\(dir)/install.log' 2>&1
      setsid /usr/sbin/mariadbd --no-defaults --datadir='\(dir)/data' --socket='\(dir)/sock' --skip-networking \
        --user=\(user) --pid-file='\(dir)/pid' --log-error='\(dir)/error.log' --innodb-flush-log-at-trx-commit=0 \
        </dev/null >/dev/null 2>&1 &
      for i in $(seq 1 120); do
        mariadb-admin --socket='\(dir)/sock' -uroot ping >/dev/null 2>&1 && exit 0
        sleep 0.25
      done
      exit 1
      """], cwd: "/")
    guard let start, start.status == 0 else {
      let log = (try? String(contentsOfFile: dir + "/error.log", encoding: .utf8)) ?? ""
      return .unavailable("MariaDB did not start: \(start?.output ?? "") \(log.suffix(400))")
    }
    mariadbStop = "kill $(cat '\(dir)/pid') 2>/dev/null; for i in $(seq 1 40); do [ -e '\(dir)/pid' ] || break; sleep 0.25; done"
    return .running(dir)
  }()

  /// Options for `mysql:OPTIONS` naming database `name` on the test server.
  static func mariadbOptions(_ name: String) -> String {
    guard case .running(let dir) = mariadb else { return "" }
    return "--socket=\(dir)/sock --user=root \(name)"
  }

  /// The mariadb client with the server's socket, as a shell command prefix.
  static var mariadbClient: String {
    guard case .running(let dir) = mariadb else { return "false" }
    return "mariadb --socket='\(dir)/sock' -uroot"
  }

  // MARK: Teardown

  nonisolated(unsafe) private static var postgresStop: String?
  nonisolated(unsafe) private static var mariadbStop: String?

  static func stopAll() {
    let script = [postgresStop, mariadbStop].compactMap { $0 }.joined(separator: "; ")
    if !script.isEmpty { _ = try? run("/bin/bash", ["-c", script], cwd: "/") }
    _ = try? run("/bin/rm", ["-rf", root], cwd: "/")
  }
}

/// A fresh, unique database name for one test.
func uniqueDatabaseName(_ prefix: String) -> String {
  prefix + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
}
