import ArgumentParser
import RehostServices

/// How verify and restore decide whose seal signatures count.
struct TrustOptions: ParsableArguments {
  @Option(name: .long, help: ArgumentHelp("Count seal signatures by this identity, in any role (repeatable).", valueName: "NAME.pub"))
  var trust: [String] = []

  @Option(name: .long, help: ArgumentHelp("A trust policy: which keys count as which roles, and which roles must sign.", valueName: "FILE"))
  var policy: String?

  @Option(name: .long, help: ArgumentHelp("Fail unless the counted signatures recorded exactly these bag serials (repeatable).", valueName: "SERIAL"))
  var expectBag: [String] = []

  @Option(name: .long, help: ArgumentHelp("The seal, if not FILE.rehost.seal.", valueName: "PATH"))
  var seal: String?

  func validate() throws {
    guard ArgumentSyntax.requirementsChecked else { return }
    if trust.isEmpty && policy == nil {
      throw ValidationError("name --trust NAME.pub or --policy FILE: a seal is only as good as the keys you trust")
    }
    if !trust.isEmpty && policy != nil { throw ValidationError("give --trust or --policy, not both (list the keys in the policy)") }
  }

  func trustPolicy() throws -> TrustPolicy {
    if let policy { return try TrustPolicy.load(policy) }
    return try TrustPolicy.trusting(try trust.map(KeyFiles.readPublic))
  }

  var expectedBags: [String]? { expectBag.isEmpty ? nil : expectBag }
}
