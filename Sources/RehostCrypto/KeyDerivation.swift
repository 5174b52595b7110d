import COpenSSL

/// HKDF-SHA256, HMAC-SHA256 and scrypt, all through OpenSSL 3's EVP_KDF / EVP_MAC.
public enum KeyDerivation {
  /// HKDF-SHA256 (RFC 5869) extract-and-expand.
  public static func hkdfSHA256(
    ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int
  ) throws -> [UInt8] {
    guard let kdf = EVP_KDF_fetch(nil, "HKDF", nil) else { throw CryptoError.fromQueue("EVP_KDF_fetch(HKDF)") }
    defer { EVP_KDF_free(kdf) }
    guard let ctx = EVP_KDF_CTX_new(kdf) else { throw CryptoError.fromQueue("EVP_KDF_CTX_new") }
    defer { EVP_KDF_CTX_free(ctx) }
    var out = [UInt8](repeating: 0, count: length)
    // OSSL_PARAM stores raw pointers: every buffer must outlive EVP_KDF_derive,
    // so the whole derivation runs inside the nested scopes.
    var ikm = ikm, salt = salt, info = info
    var digest = Array("SHA256".utf8CString)
    let result: Int32 = digest.withUnsafeMutableBufferPointer { d in
      ikm.withUnsafeMutableBytes { k in
        salt.withUnsafeMutableBytes { s in
          info.withUnsafeMutableBytes { i in
            // An empty salt or info is left out: a zero-length octet string with a nil
            // pointer is rejected by the provider.
            var params = [
              OSSL_PARAM_construct_utf8_string(paramName("digest"), d.baseAddress, 0),
              OSSL_PARAM_construct_octet_string(paramName("key"), k.baseAddress, k.count),
            ]
            if s.count > 0 { params.append(OSSL_PARAM_construct_octet_string(paramName("salt"), s.baseAddress, s.count)) }
            if i.count > 0 { params.append(OSSL_PARAM_construct_octet_string(paramName("info"), i.baseAddress, i.count)) }
            params.append(OSSL_PARAM_construct_end())
            return EVP_KDF_derive(ctx, &out, length, &params)
          }
        }
      }
    }
    try check(result, "HKDF-SHA256")
    return out
  }

  /// HMAC-SHA256 of `data` under `key`.
  public static func hmacSHA256(key: [UInt8], data: [UInt8]) throws -> [UInt8] {
    guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { throw CryptoError.fromQueue("EVP_MAC_fetch(HMAC)") }
    defer { EVP_MAC_free(mac) }
    guard let ctx = EVP_MAC_CTX_new(mac) else { throw CryptoError.fromQueue("EVP_MAC_CTX_new") }
    defer { EVP_MAC_CTX_free(ctx) }
    var digest = Array("SHA256".utf8CString)
    let initResult: Int32 = digest.withUnsafeMutableBufferPointer { d in
      var params = [
        OSSL_PARAM_construct_utf8_string(paramName("digest"), d.baseAddress, 0),
        OSSL_PARAM_construct_end(),
      ]
      return EVP_MAC_init(ctx, key, key.count, &params)
    }
    try check(initResult, "HMAC init")
    try check(EVP_MAC_update(ctx, data, data.count), "HMAC update")
    var out = [UInt8](repeating: 0, count: 32)
    var length = 0
    try check(EVP_MAC_final(ctx, &out, &length, out.count), "HMAC final")
    return out
  }

  /// scrypt (RFC 7914) with r = 8, p = 1.
  ///
  /// OpenSSL's default memory cap (32 MiB) is below what useful work factors need,
  /// so the cap is set to exactly what the parameters require.
  public static func scrypt(
    passphrase: [UInt8], salt: [UInt8], logN: Int, length: Int
  ) throws -> [UInt8] {
    guard (10...22).contains(logN) else {
      throw CryptoError(operation: "scrypt", detail: "work factor 2^\(logN) is outside 2^10...2^22")
    }
    let n = UInt64(1) << UInt64(logN)
    let r: UInt64 = 8, p: UInt64 = 1
    let maxmem = 2 * 128 * r * n + 1 << 20
    var out = [UInt8](repeating: 0, count: length)
    let result = passphrase.withUnsafeBufferPointer { pw in
      pw.withMemoryRebound(to: CChar.self) { pwc in
        EVP_PBE_scrypt(pwc.baseAddress, pw.count, salt, salt.count, n, r, p, maxmem, &out, length)
      }
    }
    try check(result, "scrypt")
    return out
  }
}

/// A parameter name with a stable address. OSSL_PARAM keeps the name's pointer, and
/// the imported `OSSL_*_PARAM_*` macros are Swift Strings whose C form lives only for
/// one call, so they must not be used to build parameter arrays.
func paramName(_ name: StaticString) -> UnsafePointer<CChar> {
  UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
}
