import Foundation
import Testing

@testable import RehostServices

@Suite struct CheckLimitTests {
  static let strong = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path + "/testdata/debian-weak-sample/strong"

  /// Past the batch-GCD limit the shared-prime check says it did not run, and the
  /// per-key checks still run; at the limit it runs. Private keys give their primes and
  /// need no batch GCD, so the limit does not hold them back.
  @Test func batchGCDBeyondItsLimitIsReportedNotSkippedSilently() throws {
    let publicKeys = FileManager.default.temporaryDirectory.appendingPathComponent("check-limit-\(getpid())").path
    try FileManager.default.createDirectory(atPath: publicKeys, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: publicKeys) }
    for name in try FileManager.default.contentsOfDirectory(atPath: Self.strong) {
      let openssl = Process()
      openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
      openssl.arguments = ["pkey", "-in", "\(Self.strong)/\(name)", "-pubout", "-out", "\(publicKeys)/\(name)"]
      try openssl.run()
      openssl.waitUntilExit()
      #expect(openssl.terminationStatus == 0)
    }
    let notRun = "the shared-prime check (batch GCD) did not run: it handles at most"
    var options = CheckOptions(paths: [publicKeys])
    options.useStandardBlocklists = false
    let keys = try Checks.run(options).keys
    #expect(keys >= 3)

    options.batchGCDLimit = keys - 1
    let over = try Checks.run(options)
    #expect(over.findings.contains { $0.problem.contains("\(notRun) \(keys - 1) keys") })
    #expect(over.keys == keys)

    options.batchGCDLimit = keys
    #expect(!(try Checks.run(options)).findings.contains { $0.problem.contains(notRun) })

    options.paths = [Self.strong]
    options.batchGCDLimit = 1
    let privateKeys = try Checks.run(options)
    #expect(privateKeys.keys == keys && !privateKeys.findings.contains { $0.problem.contains(notRun) })
  }
}
