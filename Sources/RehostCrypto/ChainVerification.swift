import COpenSSL

/// Verifies certificates against the CA certificates found beside them, with OpenSSL's
/// own path validation. Validity periods are not checked here (expiry is reported on its
/// own); what is checked is that each signature up the chain verifies, that issuers are
/// CAs, and the chain's constraints.
public final class ChainVerifier {
  private let store: OpaquePointer
  private let intermediates: OpaquePointer

  /// - Parameters:
  ///   - roots: self-issued CA certificates, trusted.
  ///   - intermediates: other CA certificates, used to build chains but not trusted;
  ///     when no root is given they are trusted instead (a CA directory holding only an
  ///     issuing CA).
  public init(roots: [[UInt8]], intermediates: [[UInt8]]) {
    store = X509_STORE_new()
    self.intermediates = OPENSSL_sk_new_null()
    let anchors = roots.isEmpty ? intermediates : roots
    for der in anchors {
      if let cert = Self.parse(der) {
        X509_STORE_add_cert(store, cert)
        X509_free(cert)
      }
    }
    if !roots.isEmpty {
      for der in intermediates {
        if let cert = Self.parse(der) { OPENSSL_sk_push(self.intermediates, UnsafeRawPointer(cert)) }
      }
    }
    var flags = UInt(X509_V_FLAG_NO_CHECK_TIME)
    if roots.isEmpty { flags |= UInt(X509_V_FLAG_PARTIAL_CHAIN) }
    X509_STORE_set_flags(store, flags)
  }

  deinit {
    X509_STORE_free(store)
    while OPENSSL_sk_num(intermediates) > 0 {
      if let cert = OPENSSL_sk_pop(intermediates) { X509_free(OpaquePointer(cert)) }
    }
    OPENSSL_sk_free(intermediates)
  }

  /// nil when `certificate` (DER) verifies; otherwise OpenSSL's reason.
  public func verify(_ certificate: [UInt8]) -> String? {
    guard let cert = Self.parse(certificate) else { return "cannot be parsed" }
    defer { X509_free(cert) }
    guard let ctx = X509_STORE_CTX_new() else { return "out of memory" }
    defer { X509_STORE_CTX_free(ctx) }
    guard X509_STORE_CTX_init(ctx, store, cert, intermediates) == 1 else { return "cannot set up the verification" }
    defer { ERR_clear_error() }
    if X509_verify_cert(ctx) == 1 { return nil }
    let code = X509_STORE_CTX_get_error(ctx)
    return X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "error \(code)"
  }

  private static func parse(_ der: [UInt8]) -> OpaquePointer? {
    der.withUnsafeBufferPointer { buffer in
      var pointer = buffer.baseAddress
      return d2i_X509(nil, &pointer, buffer.count)
    }
  }
}
