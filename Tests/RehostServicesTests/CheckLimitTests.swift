import Foundation
import Testing

@testable import RehostServices

@Suite struct CheckLimitTests {
  /// Past the batch-GCD limit the shared-prime check says it did not run, and the
  /// per-key checks still run; at the limit it runs.
  @Test func batchGCDBeyondItsLimitIsReportedNotSkippedSilently() throws {
    let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().path + "/testdata/debian-weak-sample"
    var options = CheckOptions(paths: [sample + "/strong"])
    options.useStandardBlocklists = false
    let keys = try Checks.run(options).keys
    #expect(keys >= 3)

    options.batchGCDLimit = keys - 1
    let over = try Checks.run(options)
    #expect(over.findings.contains { $0.problem.contains("the shared-prime check (batch GCD) did not run: it handles at most \(keys - 1) keys") })
    #expect(over.keys == keys)

    options.batchGCDLimit = keys
    #expect(!(try Checks.run(options)).findings.contains { $0.problem.contains("did not run: it handles") })
  }
}
