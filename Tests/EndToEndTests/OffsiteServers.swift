import Foundation
import Testing

/// Debian's openssh-server, started for one test in its sandbox: listening on 127.0.0.1
/// on a free port, with a host key and an authorized key of its own, and an rclone
/// config (`offsite:`) that reaches it with that key and checks that host key.
/// `make test-deps` installs openssh-server and rclone.
final class SFTPServer {
  let box: Sandbox
  let port: Int
  private(set) var pid: Int32 = 0
  /// The rclone config file, in the sandbox: the remote `offsite` is this server.
  var rcloneConfig: String { box.path("rclone.conf") }

  static let missing: String? = {
    if !FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") { return "openssh-server is not installed (make test-deps installs it)" }
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
    if !path.contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/rclone") }) { return "rclone is not installed (make test-deps installs it)" }
    return nil
  }()

  init(_ box: Sandbox) throws {
    self.box = box
    let user = String(cString: getpwuid(geteuid()).pointee.pw_name)
    try box.mustSh("""
      mkdir -p sshd && cd sshd
      ssh-keygen -q -t ed25519 -N '' -f host_key && ssh-keygen -q -t ed25519 -N '' -f client_key
      cp client_key.pub authorized_keys && chmod 600 authorized_keys
      """)
    if geteuid() == 0 { mkdir("/run/sshd", 0o755) }
    var started: (Int, Int32)?
    for _ in 0..<8 where started == nil {
      let port = Int.random(in: 20_000...60_000)
      try box.write("sshd/sshd_config", Array("""
        Port \(port)
        ListenAddress 127.0.0.1
        HostKey \(box.path("sshd/host_key"))
        AuthorizedKeysFile \(box.path("sshd/authorized_keys"))
        PidFile \(box.path("sshd/sshd.pid"))
        UsePAM no
        StrictModes no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PermitRootLogin prohibit-password
        AllowUsers \(user)
        Subsystem sftp internal-sftp

        """.utf8))
      if let pid = try Self.launch(box) { started = (port, pid) }
    }
    let (port, pid) = try #require(started, "sshd did not start: \(String(decoding: (try? box.read("sshd/sshd.log")) ?? [], as: UTF8.self))")
    (self.port, self.pid) = (port, pid)
    try box.mustSh("echo \"[127.0.0.1]:\(port) $(cat sshd/host_key.pub)\" > sshd/known_hosts")
    try box.write("rclone.conf", Array("""
      [offsite]
      type = sftp
      host = 127.0.0.1
      port = \(port)
      user = \(user)
      key_file = \(box.path("sshd/client_key"))
      known_hosts_file = \(box.path("sshd/known_hosts"))

      """.utf8))
  }

  /// sshd re-executes itself for each connection: its paths must be absolute.
  private static func launch(_ box: Sandbox) throws -> Int32? {
    let r = try box.sh("""
      rm -f sshd/sshd.pid; /usr/sbin/sshd -f "$PWD/sshd/sshd_config" -E "$PWD/sshd/sshd.log" </dev/null >/dev/null 2>&1 &&
      for i in $(seq 100); do test -s sshd/sshd.pid && break; sleep 0.05; done; cat sshd/sshd.pid
      """)
    return r.status == 0 ? Int32(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
  }

  /// Starts the server again, on its port.
  func restart() throws {
    stop()
    pid = try #require(try Self.launch(box), "sshd did not start again")
  }

  /// A shell command that stops the server and every session it started (a copy in
  /// flight is cut), for a script that must do it at its own moment.
  var stopCommand: String {
    "killtree() { for c in $(pgrep -P $1); do killtree $c; done; kill -KILL $1 2>/dev/null; }; killtree \(pid)"
  }

  /// Stops the server and every session it started.
  func stop() {
    guard pid > 0 else { return }
    _ = try? box.sh(stopCommand)
    pid = 0
  }

  /// Records that a script ran ``stopCommand``.
  func stopped() { pid = 0 }

  deinit { stop() }
}

/// moto's S3 server (PyPI's `moto[server]`, which `make test-deps` installs), started for
/// one test on 127.0.0.1 with a bucket made with Object Lock and a default COMPLIANCE
/// retention of a day, and an rclone config (`s3:`) that reaches it.
final class S3Server {
  let box: Sandbox
  let port: Int
  let bucket = "ca-backups"
  private var pid: Int32 = 0
  var rcloneConfig: String { box.path("rclone-s3.conf") }

  static let missing: String? = {
    let r = try? run("/bin/bash", ["-c", "command -v moto_server && python3 -c 'import boto3, flask_cors'"], cwd: "/")
    return r?.status == 0 ? nil : "moto's S3 server is not installed (make test-deps installs moto[server] from PyPI)"
  }()

  /// rclone's S3 backend cannot start with AWS_CA_BUNDLE set (rclone 1.60: "unsupported
  /// transport"); this machine's environment sets it. Commands run under this prefix.
  static let environment = "env -u AWS_CA_BUNDLE"

  init(_ box: Sandbox) throws {
    self.box = box
    var started: (Int, Int32)?
    for _ in 0..<5 where started == nil {
      let port = Int.random(in: 20_000...60_000)
      let r = try box.sh("""
        moto_server -H 127.0.0.1 -p \(port) </dev/null >moto.log 2>&1 & echo $! > moto.pid
        for i in $(seq 200); do curl -s -o /dev/null http://127.0.0.1:\(port)/ && exit 0; sleep 0.05; done; exit 1
        """)
      let pid = Int32((try? String(decoding: box.read("moto.pid"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? "") ?? 0
      if r.status == 0 { started = (port, pid) } else if pid > 0 { kill(pid, SIGKILL) }
    }
    let (port, pid) = try #require(started, "moto's server did not start: \(String(decoding: (try? box.read("moto.log")) ?? [], as: UTF8.self))")
    (self.port, self.pid) = (port, pid)
    try box.mustSh("""
      \(Self.environment) python3 - <<'PY'
      import boto3
      s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:\(port)', aws_access_key_id='test', aws_secret_access_key='test', region_name='us-east-1')
      s3.create_bucket(Bucket='\(bucket)', ObjectLockEnabledForBucket=True)
      s3.put_object_lock_configuration(Bucket='\(bucket)', ObjectLockConfiguration={'ObjectLockEnabled': 'Enabled',
          'Rule': {'DefaultRetention': {'Mode': 'COMPLIANCE', 'Days': 1}}})
      PY
      """)
    try box.write("rclone-s3.conf", Array("""
      [s3]
      type = s3
      provider = Other
      endpoint = http://127.0.0.1:\(port)
      access_key_id = test
      secret_access_key = test
      region = us-east-1

      """.utf8))
  }

  /// rehost as the S3 tests run it (see ``environment``).
  static var rehost: String { "\(environment) '\(rehostBinary)'" }

  /// Points the sandbox's backup.yaml at this bucket (its `ca1/`) instead of the SFTP
  /// remote; returns the rclone remote.
  func takeOverBackupConfig() throws -> String {
    let remote = "s3:\(bucket)/ca1"
    try box.mustSh("""
      sed -i 's|rclone-config: rclone.conf|rclone-config: rclone-s3.conf|; s|remotes: .*|remotes: ["\(remote)"]|' backup.yaml
      """)
    return remote
  }

  /// Deletes one version of an object the way only a version delete can: Object Lock
  /// must refuse it. Returns the S3 error code (or "deleted").
  func deleteLockedVersion(_ key: String) throws -> String {
    let r = try box.sh("""
      \(Self.environment) python3 - <<'PY'
      import boto3, botocore
      s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:\(port)', aws_access_key_id='test', aws_secret_access_key='test', region_name='us-east-1')
      version = s3.list_object_versions(Bucket='\(bucket)', Prefix='\(key)')['Versions'][0]['VersionId']
      try:
          s3.delete_object(Bucket='\(bucket)', Key='\(key)', VersionId=version)
          print('deleted')
      except botocore.exceptions.ClientError as e:
          print(e.response['Error']['Code'])
      PY
      """)
    return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  func stop() {
    if pid > 0 { kill(pid, SIGKILL) }
    pid = 0
  }

  deinit { stop() }
}
