import COpenSSL

/// Streaming SHA-256 (EVP). Not thread-safe: confine one hasher to one task.
public final class SHA256 {
  private let ctx: OpaquePointer
  private var finished = false

  public init() {
    ctx = EVP_MD_CTX_new()
    // SHA-256 is always available (EVP_sha256() stands in if the fetch failed): init
    // cannot fail short of memory exhaustion, where crashing is the honest outcome.
    precondition(EVP_DigestInit_ex(ctx, FetchedDigest.sha256, nil) == 1, "EVP_DigestInit_ex(sha256)")
  }

  deinit { EVP_MD_CTX_free(ctx) }

  /// Feeds bytes into the hash.
  public func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    EVP_DigestUpdate(ctx, base, bytes.count)
  }

  public func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { update($0) }
  }

  public func update(_ text: String) {
    var text = text
    text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
  }

  /// Returns the 32-byte digest. The hasher cannot be used afterwards.
  public func finalize() -> [UInt8] {
    precondition(!finished, "SHA256.finalize called twice")
    finished = true
    var out = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    EVP_DigestFinal_ex(ctx, &out, &length)
    return out
  }

  /// One-shot digest of a byte array.
  public static func hash(_ bytes: [UInt8]) -> [UInt8] {
    let h = SHA256()
    h.update(bytes)
    return h.finalize()
  }

  /// One-shot digest of a string's UTF-8 bytes.
  public static func hash(_ text: String) -> [UInt8] {
    let h = SHA256()
    h.update(text)
    return h.finalize()
  }
}
