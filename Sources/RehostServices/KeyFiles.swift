import Foundation
import RehostBase
import RehostCrypto
import RehostStorage

/// A person's or host's public identity, from `NAME.pub`: an Ed25519 key that signs
/// seals and an X25519 key that archives are encrypted to.
public struct PublicIdentity: Sendable {
  public let signing: AsymmetricKey?
  public let encryption: AsymmetricKey?
  public let path: String
}

/// The private half, from `NAME.key`.
public struct PrivateIdentity: Sendable {
  public let signing: AsymmetricKey?
  public let encryption: AsymmetricKey?
  public let path: String
}

/// Reading and writing identity files.
///
/// Both files are PEM. The Ed25519 block comes first, so `openssl pkey` and
/// `openssl pkeyutl -verify -pubin -inkey NAME.pub` see the signing key; comment
/// lines before the blocks say what each is.
public enum KeyFiles {
  /// Generates an identity and writes `NAME.key` (mode 0600) and `NAME.pub`.
  ///
  /// - Returns: the public identity written.
  public static func generate(name: String, passphrase: [UInt8]?) throws -> PublicIdentity {
    let keyPath = name + ".key", pubPath = name + ".pub"
    for path in [keyPath, pubPath] where FileManager.default.fileExists(atPath: path) {
      throw RehostError(.refused, "\(path) already exists", hint: "choose another name; rehost never overwrites a key")
    }
    let signing = try AsymmetricKey.generate(.ed25519)
    let encryption = try AsymmetricKey.generate(.x25519)
    let label = URL(fileURLWithPath: name).lastPathComponent
    let comment = """
      # rehost identity "\(label)"
      # signing key (Ed25519), fingerprint \(signing.fingerprint())
      # encryption key (X25519), fingerprint \(encryption.fingerprint())

      """
    let privateText = comment + (try signing.privateKeyPEM(passphrase: passphrase))
      + (try encryption.privateKeyPEM(passphrase: passphrase))
    let publicText = comment + (try signing.publicKeyPEM()) + (try encryption.publicKeyPEM())
    try writeFileAtomically(privateText, to: keyPath, mode: 0o600)
    do {
      try writeFileAtomically(publicText, to: pubPath, mode: 0o644)
    } catch {
      unlink(keyPath)
      throw error
    }
    return PublicIdentity(signing: signing, encryption: encryption, path: pubPath)
  }

  /// Reads a public identity file, or any PEM file of Ed25519/X25519 public keys.
  public static func readPublic(_ path: String) throws -> PublicIdentity {
    let text = try readSmallText(path, what: "public key")
    guard !text.contains("PRIVATE KEY-----") else {
      throw RehostError(.usage, "\(path) holds a private key where a public key (.pub) was expected",
                        hint: "pass NAME.pub; keep NAME.key to yourself")
    }
    let keys: [AsymmetricKey]
    do {
      keys = try AsymmetricKey.readPublicKeys(pem: text)
    } catch {
      throw RehostError(.key, "\(path) is not a readable public key file (\(error))",
                        hint: "pass a NAME.pub written by `rehost keygen`")
    }
    let identity = PublicIdentity(
      signing: keys.first { $0.algorithm == .ed25519 }, encryption: keys.first { $0.algorithm == .x25519 }, path: path)
    guard identity.signing != nil || identity.encryption != nil else {
      throw RehostError(.key, "\(path) holds no Ed25519 or X25519 public key", hint: "pass a NAME.pub written by `rehost keygen`")
    }
    return identity
  }

  /// True when the private key file is passphrase-protected.
  /// Reads a passphrase file: its first line, without the newline. A pipe is fine
  /// (`--passphrase-file <(pass show ca)`); a passphrase is one line.
  public static func passphrase(file path: String) throws -> [UInt8] {
    var bytes = try InputFile.read(path, what: "passphrase file", limit: 64 * 1024, allowPipe: true)
    if let newline = bytes.firstIndex(of: 0x0a) { bytes = Array(bytes[..<newline]) }
    if bytes.last == 0x0d { bytes.removeLast() }
    guard !bytes.isEmpty else { throw RehostError(.usage, "passphrase file \(path) is empty") }
    return bytes
  }

  public static func isEncrypted(_ path: String) throws -> Bool {
    try readSmallText(path, what: "private key").contains("BEGIN ENCRYPTED PRIVATE KEY")
  }

  /// Reads a private identity, decrypting it with `passphrase` when it is encrypted.
  public static func readPrivate(_ path: String, passphrase: [UInt8]?) throws -> PrivateIdentity {
    let text = try readSmallText(path, what: "private key")
    let encrypted = text.contains("BEGIN ENCRYPTED PRIVATE KEY")
    if !text.contains("PRIVATE KEY") && text.contains("BEGIN PUBLIC KEY") {
      throw RehostError(.key, "\(path) is a public key; this needs the private key",
                        hint: "pass the matching NAME.key (the .pub is what others use to encrypt to you or trust your signatures)")
    }
    if encrypted && passphrase == nil {
      throw RehostError(.key, "\(path) is protected by a passphrase, and no terminal is there to ask for it",
                        hint: "pass --key-passphrase-file FILE (or --key-passphrase-fd N, or set REHOST_KEY_PASSPHRASE) to give the passphrase of \(path)")
    }
    let keys: [AsymmetricKey]
    do {
      keys = try AsymmetricKey.readPrivateKeys(pem: text, passphrase: encrypted ? passphrase : nil)
    } catch {
      if encrypted {
        throw RehostError(.key, "cannot decrypt \(path): wrong passphrase", hint: "check the passphrase and try again")
      }
      throw RehostError(.key, "\(path) is not a readable private key file (\(error))",
                        hint: "pass a NAME.key written by `rehost keygen`")
    }
    let identity = PrivateIdentity(
      signing: keys.first { $0.algorithm == .ed25519 }, encryption: keys.first { $0.algorithm == .x25519 }, path: path)
    guard identity.signing != nil || identity.encryption != nil else {
      throw RehostError(.key, "\(path) holds no Ed25519 or X25519 private key")
    }
    return identity
  }

  static func readSmallText(_ path: String, what: String) throws -> String {
    let bytes = try InputFile.read(path, what: "\(what) file", limit: 1 << 20)
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw RehostError(.usage, "the \(what) file \(path) is not text", hint: "give a NAME.key or NAME.pub written by `rehost keygen`")
    }
    return text
  }
}
