import Foundation

/// UTC timestamps as printed in seals and manifests (RFC 3339, seconds).
public enum Timestamp {
  public static func now() -> String { format(Date()) }

  public static func format(_ date: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
    return f.string(from: date)
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
