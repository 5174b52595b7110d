import Foundation
import RehostBase
import RehostCrypto
import Testing

@testable import RehostBackups

/// Chains written by an independent writer (Tests/Fuzz/make-corpus.py, from docs/BACKUP.md)
/// read as rehost reads them, and what the reader refuses.
@Suite struct ChainTests {
  static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Fuzz/corpus"

  let repository = Repository(path: "/nonexistent", id: String(repeating: "ab", count: 16), created: "2026-12-01T00:00:00Z",
                              recipients: ["x25519 " + String(repeating: "0", count: 64)],
                              signer: try! AsymmetricKey.privateKey(.ed25519, raw: [UInt8](repeating: 1, count: 32)).fingerprint(),
                              infoSHA256: String(repeating: "cd", count: 32))

  func seed(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/chain/" + name))) }

  @Test func anIndependentlyWrittenChainReads() throws {
    let chain = try Chain.read(repository, bytes: try seed("three-and-a-prune"))
    #expect(chain.backups.map(\.sequence) == [1, 2, 3] && chain.live.map(\.sequence) == [2, 3])
    #expect(chain.prunes[1]?.policy == "keep-last=2" && chain.prunes[1]?.liveBefore == [1, 2, 3])
    #expect(chain.backups[2].archive == "20261203T030000Z-000003.rehost" && chain.backups[2].entries == 50)
    // verify-chain's replay: keep-last=2 over what was there does not keep backup 1.
    let items = chain.prunes[1]!.liveBefore.compactMap(chain.backup).map { Retention.Item(sequence: $0.sequence, created: $0.created) }
    #expect(Retention(description: "keep-last=2")!.keep(items)[1] == nil)
  }

  @Test func anotherRepositorysOrAChangedChainIsRefused() throws {
    let bytes = try seed("three-and-a-prune")
    let other = Repository(path: "/nonexistent", id: String(repeating: "ef", count: 16), created: repository.created,
                           recipients: repository.recipients, signer: repository.signer, infoSHA256: repository.infoSHA256)
    expectRefused(.seal, "the first line is not the creation of this repository") { try Chain.read(other, bytes: bytes) }
    var text = String(decoding: bytes, as: UTF8.self)
    text = text.replacingOccurrences(of: #""entries":50"#, with: #""entries":51"#)
    expectRefused(.seal, "/nonexistent/chain.jsonl:2: its signature does not verify") { try Chain.read(repository, bytes: Array(text.utf8)) }
    expectRefused(.corrupt, "chain.jsonl:5: the last line is incomplete") { try Chain.read(repository, bytes: Array(bytes.dropLast(5))) }
  }
}

/// Expects `body` to throw a RehostError of `kind` whose message contains `words`.
func expectRefused(_ kind: RehostError.Kind, _ words: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any) {
  do {
    _ = try body()
    Issue.record("no error; expected \(kind): \(words)", sourceLocation: sourceLocation)
  } catch let error as RehostError {
    #expect(error.kind == kind && error.message.contains(words), "\(error.kind): \(error.message)", sourceLocation: sourceLocation)
  } catch {
    Issue.record("\(error)", sourceLocation: sourceLocation)
  }
}
