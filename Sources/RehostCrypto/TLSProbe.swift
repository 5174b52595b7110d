import COpenSSL
import Glibc

/// Fetches the certificate chain a TLS server presents, to check it, not to trust it:
/// no verification, any protocol version and security level OpenSSL still speaks, so
/// that weak and broken servers can be inspected too.
public enum TLSProbe {
  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  public struct Result: Sendable {
    /// The presented certificates as PEM, leaf first.
    public let chain: [String]
    /// Whether the leaf certificate is valid for the name (or IP address) connected to.
    public let leafMatchesHost: Bool
  }

  /// Connects to `host:port`, completes a handshake and returns what the server presented.
  /// - Parameter serverName: the name sent in SNI and checked against the certificate
  ///   (default: `host`), so a new host is tested by address under its real name.
  public static func chain(host: String, port: UInt16, serverName: String? = nil, timeoutSeconds: Int = 10) throws -> Result {
    let name = serverName ?? host
    let fd = try connect(host: host, port: port, timeoutSeconds: timeoutSeconds)
    defer { close(fd) }
    guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw Failure(description: "cannot create a TLS context") }
    defer { SSL_CTX_free(ctx) }
    SSL_CTX_set_security_level(ctx, 0)
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
    _ = "ALL:@SECLEVEL=0".withCString { SSL_CTX_set_cipher_list(ctx, $0) }
    guard let ssl = SSL_new(ctx) else { throw Failure(description: "cannot create a TLS session") }
    defer { SSL_free(ssl) }
    SSL_set_fd(ssl, fd)
    _ = name.withCString { rehost_ssl_set_tlsext_host_name(ssl, $0) }
    guard SSL_connect(ssl) == 1 else {
      let error = CryptoError.fromQueue("TLS handshake")
      throw Failure(description: "TLS handshake with \(host):\(port) failed: \(error.detail)")
    }
    var matches = false
    if let leaf = SSL_get1_peer_certificate(ssl) {
      defer { X509_free(leaf) }
      var address = in6_addr()
      let isAddress = inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
      matches = isAddress ? X509_check_ip_asc(leaf, name, 0) == 1 : X509_check_host(leaf, name, name.utf8.count, 0, nil) == 1
    }
    var pems: [String] = []
    if let chain = SSL_get_peer_cert_chain(ssl) {
      for i in 0..<OPENSSL_sk_num(chain) {
        guard let raw = OPENSSL_sk_value(chain, i) else { continue }
        if let pem = pem(of: OpaquePointer(raw)) { pems.append(pem) }
      }
    }
    SSL_shutdown(ssl)
    return Result(chain: pems, leafMatchesHost: matches)
  }

  private static func pem(of cert: OpaquePointer) -> String? {
    guard let bio = BIO_new(BIO_s_mem()) else { return nil }
    defer { BIO_free(bio) }
    guard PEM_write_bio_X509(bio, cert) == 1 else { return nil }
    var pointer: UnsafeMutablePointer<CChar>?
    let length = rehost_bio_get_mem_data(bio, &pointer)
    guard let pointer, length > 0 else { return nil }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: Int(length)), as: UTF8.self)
  }

  private static func connect(host: String, port: UInt16, timeoutSeconds: Int) throws -> Int32 {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var result: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, String(port), &hints, &result)
    guard status == 0, let first = result else {
      throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(result) }
    var lastError = "no address"
    var info: UnsafeMutablePointer<addrinfo>? = first
    while let current = info {
      let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
      if fd >= 0 {
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if Glibc.connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 { return fd }
        lastError = String(cString: strerror(errno))
        close(fd)
      }
      info = current.pointee.ai_next
    }
    throw Failure(description: "cannot connect to \(host):\(port): \(lastError)")
  }
}
