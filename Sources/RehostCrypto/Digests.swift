import COpenSSL

/// Digest implementations fetched from their provider once: with EVP_sha256() and the
/// like, every init fetches again (a lock and a search; 3 % of a key check's time).
enum FetchedDigest {
  nonisolated(unsafe) static let sha256: OpaquePointer = EVP_MD_fetch(nil, "SHA2-256", nil) ?? EVP_sha256()
  nonisolated(unsafe) static let sha1: OpaquePointer = EVP_MD_fetch(nil, "SHA1", nil) ?? EVP_sha1()
  nonisolated(unsafe) static let md5: OpaquePointer = EVP_MD_fetch(nil, "MD5", nil) ?? EVP_md5()
}

/// Digests other than SHA-256, for fingerprint formats that name them.
public enum Digest {
  /// MD5, only for legacy fingerprints (openssh-blacklist); never for security.
  public static func md5(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 16)
    var length: UInt32 = 0
    EVP_Digest(bytes, bytes.count, &out, &length, FetchedDigest.md5, nil)
    return out
  }

  /// SHA-1, only for legacy fingerprints (Debian's blacklists); never for security.
  public static func sha1(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 20)
    var length: UInt32 = 0
    EVP_Digest(bytes, bytes.count, &out, &length, FetchedDigest.sha1, nil)
    return out
  }
}
