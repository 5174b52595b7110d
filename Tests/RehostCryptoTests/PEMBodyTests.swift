import Foundation
@testable import RehostCrypto
import Testing

/// The PEM body decoder of the key fast paths, against Foundation's base64 on random
/// blocks of every layout, and refusing (so that OpenSSL's reader decides) what is not
/// plain base64 lines.
@Suite struct PEMBodyTests {
  func decoded(_ block: String) -> [UInt8]?? {
    var bytes = Array(block.utf8)
    return bytes.withUnsafeMutableBytes { raw in
      PEMBlock.withDER(UnsafeRawBufferPointer(raw)) { pointer, count in Array(UnsafeBufferPointer(start: pointer, count: count)) }
    }
  }

  func block(_ body: [UInt8], width: Int, lineEnd: String = "\n", trailer: String = "") -> String {
    let text = Data(body).base64EncodedString()
    var lines: [String] = []
    var rest = Substring(text)
    while !rest.isEmpty { lines.append(String(rest.prefix(width)) + trailer); rest = rest.dropFirst(width) }
    return (["-----BEGIN PRIVATE KEY-----"] + lines + ["-----END PRIVATE KEY-----"]).joined(separator: lineEnd) + lineEnd
  }

  @Test func randomBodiesInEveryLayoutDecodeToTheirBytes() {
    var generator = SystemRandomNumberGenerator()
    for round in 0..<500 {
      let body = (0..<Int.random(in: 1...700, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let width = [64, 76, 4, 1, 1000, Int.random(in: 1...120, using: &generator)][round % 6]
      let text = block(body, width: width, lineEnd: round % 3 == 0 ? "\r\n" : "\n", trailer: round % 5 == 0 ? " \t" : "")
      #expect(decoded(text) == .some(body), "round \(round), width \(width)")
    }
  }

  @Test func whatIsNotPlainBase64IsLeftToOpenSSL() {
    let good = block(Array(0..<100), width: 64)
    #expect(decoded(good) == .some(Array(0..<100)))
    // A header (traditional encrypted keys carry them), a stray character, a '=' inside,
    // a length that is not whole groups, an empty body, no END line.
    let header = good.replacingOccurrences(of: "-----\n", with: "-----\nProc-Type: 4,ENCRYPTED\n\n", options: [], range: good.range(of: "-----\n"))
    #expect(decoded(header) == nil)
    #expect(decoded(good.replacingOccurrences(of: "AAEC", with: "AA*C")) == nil)
    #expect(decoded(good.replacingOccurrences(of: "AAEC", with: "AA=C")) == nil)
    #expect(decoded(good.replacingOccurrences(of: "AAEC", with: "AAE")) == nil)
    #expect(decoded("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n") == nil)
    #expect(decoded("-----BEGIN PRIVATE KEY-----\nAAEC") == nil)
  }
}
