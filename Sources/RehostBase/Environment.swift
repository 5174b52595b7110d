import Glibc

/// UTC times as printed in seals and manifests: `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339,
/// whole seconds).
public enum Timestamp {
  public static func now() -> String { format(seconds: time(nil)) }

  public static func format(seconds: time_t) -> String {
    var t = seconds
    var parts = tm()
    gmtime_r(&t, &parts)
    var buffer = [CChar](repeating: 0, count: 32)
    let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
    return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The seconds since 1970 a timestamp of that form names; nil for another form.
  public static func seconds(_ text: String) -> time_t? {
    guard isValid(text) else { return nil }
    let b = Array(text.utf8)
    func n(_ from: Int, _ count: Int) -> Int32 { b[from..<from + count].reduce(0) { $0 * 10 + Int32($1 - 0x30) } }
    var parts = tm()
    (parts.tm_year, parts.tm_mon, parts.tm_mday) = (n(0, 4) - 1900, n(5, 2) - 1, n(8, 2))
    (parts.tm_hour, parts.tm_min, parts.tm_sec) = (n(11, 2), n(14, 2), n(17, 2))
    return timegm(&parts)
  }

  /// Whether `text` has exactly that form.
  public static func isValid(_ text: String) -> Bool {
    let b = Array(text.utf8)
    guard b.count == 20 else { return false }
    for (i, c) in b.enumerated() {
      switch i {
      case 4, 7: if c != UInt8(ascii: "-") { return false }
      case 10: if c != UInt8(ascii: "T") { return false }
      case 13, 16: if c != UInt8(ascii: ":") { return false }
      case 19: if c != UInt8(ascii: "Z") { return false }
      default: if c < 0x30 || c > 0x39 { return false }
      }
    }
    return true
  }
}

/// The host's name, as recorded in manifests and seals.
public enum HostName {
  public static func current() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
