import COpenSSL

/// A failure inside libcrypto, with OpenSSL's own reason text.
///
/// Services translate these into user-facing errors with context (which chunk,
/// which key); the crypto layer only says what OpenSSL said.
public struct CryptoError: Error, CustomStringConvertible, Equatable {
  /// What we were doing when libcrypto failed.
  public let operation: String
  /// OpenSSL's error queue, drained at the throw site.
  public let detail: String

  public var description: String {
    detail.isEmpty ? "\(operation) failed" : "\(operation) failed: \(detail)"
  }

  /// Builds an error from (and clears) OpenSSL's thread-local error queue.
  static func fromQueue(_ operation: String) -> CryptoError {
    var reasons: [String] = []
    while true {
      let code = ERR_get_error()
      if code == 0 { break }
      var buffer = [CChar](repeating: 0, count: 256)
      ERR_error_string_n(code, &buffer, buffer.count)
      reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return CryptoError(operation: operation, detail: reasons.joined(separator: "; "))
  }
}

/// Throws a ``CryptoError`` unless `result` is 1 (OpenSSL's success value).
@inline(__always)
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws {
  if result != 1 { throw CryptoError.fromQueue(operation()) }
}
