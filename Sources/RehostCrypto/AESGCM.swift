import COpenSSL

/// AES-256-GCM with one key and many nonces, reusing one cipher context.
///
/// Built for the chunked archive stream: no allocation per chunk. Output layout is
/// ciphertext followed by the 16-byte tag.
public final class AESGCM {
  public static let tagSize = 16
  public static let nonceSize = 12

  private let ctx: OpaquePointer
  private let cipher: OpaquePointer

  /// - Parameter key: 32 bytes.
  public init(key: [UInt8]) throws {
    precondition(key.count == 32, "AES-256 key must be 32 bytes")
    guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else {
      throw CryptoError.fromQueue("EVP_CIPHER_fetch(AES-256-GCM)")
    }
    guard let ctx = EVP_CIPHER_CTX_new() else {
      EVP_CIPHER_free(cipher)
      throw CryptoError.fromQueue("EVP_CIPHER_CTX_new")
    }
    self.cipher = cipher
    self.ctx = ctx
    self.key = key
  }

  private let key: [UInt8]

  deinit {
    EVP_CIPHER_CTX_free(ctx)
    EVP_CIPHER_free(cipher)
  }

  /// Encrypts `plaintext` into `output`, which must hold `plaintext.count + 16` bytes.
  public func seal(
    nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
    plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer
  ) throws {
    precondition(nonce.count == Self.nonceSize)
    let out = output.assumingMemoryBound(to: UInt8.self)
    try key.withUnsafeBytes { (k) throws in
      try check(
        EVP_EncryptInit_ex2(ctx, cipher, k.bindMemory(to: UInt8.self).baseAddress,
                            nonce.bindMemory(to: UInt8.self).baseAddress, nil),
        "AES-GCM init")
    }
    var length: Int32 = 0
    if aad.count > 0 {
      try check(EVP_EncryptUpdate(ctx, nil, &length, aad.bindMemory(to: UInt8.self).baseAddress, Int32(aad.count)), "AES-GCM aad")
    }
    var written = 0
    if plaintext.count > 0 {
      try check(EVP_EncryptUpdate(ctx, out, &length, plaintext.bindMemory(to: UInt8.self).baseAddress, Int32(plaintext.count)), "AES-GCM encrypt")
      written = Int(length)
    }
    try check(EVP_EncryptFinal_ex(ctx, out + written, &length), "AES-GCM final")
    written += Int(length)
    try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagSize), out + written), "AES-GCM tag")
  }

  /// Decrypts `sealed` (ciphertext + tag) into `output` (at least `sealed.count - 16` bytes).
  ///
  /// - Returns: false when the tag does not verify; `output` then holds garbage that
  ///   the caller must not use.
  public func open(
    nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
    sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer
  ) throws -> Bool {
    precondition(nonce.count == Self.nonceSize)
    guard sealed.count >= Self.tagSize else { return false }
    let out = output.assumingMemoryBound(to: UInt8.self)
    let bytes = sealed.bindMemory(to: UInt8.self)
    let cipherCount = sealed.count - Self.tagSize
    try key.withUnsafeBytes { (k) throws in
      try check(
        EVP_DecryptInit_ex2(ctx, cipher, k.bindMemory(to: UInt8.self).baseAddress,
                            nonce.bindMemory(to: UInt8.self).baseAddress, nil),
        "AES-GCM init")
    }
    var length: Int32 = 0
    if aad.count > 0 {
      try check(EVP_DecryptUpdate(ctx, nil, &length, aad.bindMemory(to: UInt8.self).baseAddress, Int32(aad.count)), "AES-GCM aad")
    }
    var written = 0
    if cipherCount > 0 {
      try check(EVP_DecryptUpdate(ctx, out, &length, bytes.baseAddress, Int32(cipherCount)), "AES-GCM decrypt")
      written = Int(length)
    }
    // The expected tag must be set before Final, which is where GCM compares it.
    let tag = UnsafeMutableRawPointer(mutating: bytes.baseAddress! + cipherCount)
    try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagSize), tag), "AES-GCM set tag")
    let ok = EVP_DecryptFinal_ex(ctx, out + written, &length) == 1
    if !ok { ERR_clear_error() }
    return ok
  }

  /// Convenience for small values (key wrapping): seal with a byte-array API.
  public func seal(nonce: [UInt8], aad: [UInt8], plaintext: [UInt8]) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: plaintext.count + Self.tagSize)
    try nonce.withUnsafeBytes { (n) throws in
      try aad.withUnsafeBytes { (a) throws in
        try plaintext.withUnsafeBytes { (p) throws in
          try out.withUnsafeMutableBytes { (o) throws in
            try seal(nonce: n, aad: a, plaintext: p, into: o.baseAddress!)
          }
        }
      }
    }
    return out
  }

  /// Convenience for small values: returns nil when authentication fails.
  public func open(nonce: [UInt8], aad: [UInt8], sealed: [UInt8]) throws -> [UInt8]? {
    guard sealed.count >= Self.tagSize else { return nil }
    var out = [UInt8](repeating: 0, count: sealed.count - Self.tagSize + 1)
    let ok = try nonce.withUnsafeBytes { (n) throws in
      try aad.withUnsafeBytes { (a) throws in
        try sealed.withUnsafeBytes { (s) throws in
          try out.withUnsafeMutableBytes { (o) throws in
            try open(nonce: n, aad: a, sealed: s, into: o.baseAddress!)
          }
        }
      }
    }
    return ok ? Array(out.prefix(sealed.count - Self.tagSize)) : nil
  }
}
