import RehostBase
import RehostCrypto
@testable import RehostFormat
import Testing

@Suite struct EnvelopeTests {
  let alice = try! AsymmetricKey.generate(.x25519)
  let bob = try! AsymmetricKey.generate(.x25519)

  func publicOf(_ key: AsymmetricKey) throws -> AsymmetricKey {
    try AsymmetricKey.publicKey(.x25519, raw: key.rawPublicKey())
  }

  func reparse(_ header: ArchiveHeader) throws -> ArchiveHeader {
    let (parsed, length) = try ArchiveHeader.read(from: MemorySource(header.encoded() + [9, 9, 9]))
    #expect(length == header.encoded().count)
    return parsed
  }

  @Test func everyRecipientOpensTheSameKey() throws {
    let (header, key) = try Envelope.seal(to: [
      X25519Recipient(publicKey: try publicOf(alice)), X25519Recipient(publicKey: try publicOf(bob)),
      PassphraseRecipient(passphrase: Array("correct horse".utf8), logN: 10),
    ])
    let parsed = try reparse(header)
    #expect(parsed == header)
    #expect(try Envelope.open(parsed, with: [X25519Identity(privateKey: alice)]) == key)
    #expect(try Envelope.open(parsed, with: [X25519Identity(privateKey: bob)]) == key)
    #expect(try Envelope.open(parsed, with: [PassphraseIdentity(passphrase: Array("correct horse".utf8))]) == key)
  }

  @Test func aWrongKeyOrPassphraseIsAKeyError() throws {
    let (header, _) = try Envelope.seal(to: [
      X25519Recipient(publicKey: try publicOf(alice)), PassphraseRecipient(passphrase: Array("right".utf8), logN: 10),
    ])
    for identity: Identity in [X25519Identity(privateKey: bob), PassphraseIdentity(passphrase: Array("wrong".utf8))] {
      #expect { try Envelope.open(header, with: [identity]) } throws: { ($0 as? RehostError)?.kind == .key }
    }
  }

  @Test func aModifiedHeaderIsRejected() throws {
    let (header, _) = try Envelope.seal(to: [X25519Recipient(publicKey: try publicOf(alice))])
    var other = header
    other.chunkSize = 8192  // still well-formed, but not what was authenticated
    #expect { try Envelope.open(other, with: [X25519Identity(privateKey: alice)]) } throws: { ($0 as? RehostError)?.kind == .corrupt }
    var salted = header
    salted.payloadSalt[0] ^= 1
    #expect { try Envelope.open(salted, with: [X25519Identity(privateKey: alice)]) } throws: { ($0 as? RehostError)?.kind == .corrupt }
    var wrapped = header
    wrapped.stanzas[0].body[3] ^= 1
    #expect { try Envelope.open(wrapped, with: [X25519Identity(privateKey: alice)]) } throws: { ($0 as? RehostError)?.kind == .corrupt }
  }

  @Test func malformedHeadersAreRejected() throws {
    let (header, _) = try Envelope.seal(to: [X25519Recipient(publicKey: try publicOf(alice))])
    let text = header.encoded()
    for bad in [
      Array("not-rehost\n".utf8),
      Array("rehost-archive/2\n".utf8),
      Array(text.prefix(text.count - 1)),  // no final newline: ends inside the header
      Array(String(decoding: text, as: UTF8.self).replacingOccurrences(of: "chunk-size 65536", with: "chunk-size 65535").utf8),
      Array(String(decoding: text, as: UTF8.self).replacingOccurrences(of: "recipient x25519", with: "recipient  x25519").utf8),
    ] {
      #expect { _ = try ArchiveHeader.read(from: MemorySource(bad)) } throws: { ($0 as? RehostError)?.kind == .corrupt }
    }
  }
}

@Suite struct CustodianEnvelopeTests {
  @Test func aWrongShareValueIsRejectedByNameBeforeUse() throws {
    let keys = try (0..<3).map { _ in try AsymmetricKey.generate(.x25519) }
    let publics = try keys.map { try AsymmetricKey.publicKey(.x25519, raw: $0.rawPublicKey()) }
    let (header, payloadKey) = try Envelope.seal(to: [CustodianGroup(threshold: 2, custodians: publics)])
    let alice = X25519Identity(privateKey: keys[0]), bob = X25519Identity(privateKey: keys[1])
    #expect(try Envelope.open(header, with: [alice, bob]) == payloadKey)
    let bobShare = try #require(try header.stanzas.compactMap { try bob.unwrapShare($0) }.first)
    #expect(try Envelope.open(header, with: [alice], shares: [bobShare]) == payloadKey)
    var value = bobShare.share.value
    value[7] ^= 0x20
    let forged = KeyShare(share: Shamir.Share(index: bobShare.share.index, value: value), threshold: 2, total: 3, custodian: bobShare.custodian)
    #expect { try Envelope.open(header, with: [alice], shares: [forged]) } throws: { error in
      let e = error as? RehostError
      return e?.kind == .key && e?.message.contains("share 2") == true
    }
    #expect { try Envelope.open(header, with: [bob]) } throws: { ($0 as? RehostError)?.message.contains("1 present") == true }
  }
}
