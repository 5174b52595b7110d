import Foundation
import RehostBase

/// Which backups to keep, as restic's `forget --keep-*` decides (docs/BACKUP.md,
/// "Retention"): backups newest first; each `keep-<period> N` keeps the newest backup of
/// each of the N newest periods that hold one (hours, UTC days, ISO weeks, months, years),
/// `keep-last N` the N newest, `keep-within D` every backup less than D older than the
/// newest. A backup is kept when any rule keeps it. When a period rule finds fewer periods
/// than it may keep, it keeps the oldest backup too. No rule at all keeps everything.
public struct Retention: Equatable, Sendable {
  public var last: Int?
  public var hourly: Int?
  public var daily: Int?
  public var weekly: Int?
  public var monthly: Int?
  public var yearly: Int?
  /// `keep-within`: years, months, days, hours.
  public var within: Within?

  public struct Within: Equatable, Sendable, CustomStringConvertible {
    public var years = 0, months = 0, days = 0, hours = 0

    /// `1y5m7d2h` (any of the parts, in that order).
    public init?(_ text: String) {
      var number = ""
      var seen = ""
      for c in text {
        if c.isASCII && c.isNumber { number.append(c); continue }
        guard let n = Int(number), n <= 100_000, "ymdh".contains(c), !seen.contains(c),
              seen.allSatisfy({ "ymdh".firstIndex(of: $0)! < "ymdh".firstIndex(of: c)! }) else { return nil }
        switch c {
        case "y": years = n
        case "m": months = n
        case "d": days = n
        default: hours = n
        }
        seen.append(c)
        number = ""
      }
      guard number.isEmpty, !seen.isEmpty else { return nil }
    }

    public var description: String {
      [(years, "y"), (months, "m"), (days, "d"), (hours, "h")].filter { $0.0 > 0 }.map { "\($0.0)\($0.1)" }.joined()
    }
  }

  public init() {}

  public var isEmpty: Bool { self == Retention() }

  /// One line, as prune records carry it: `keep-last=7 keep-daily=14 keep-within=2d`.
  public var description: String {
    var parts: [String] = []
    for (name, value) in [("last", last), ("hourly", hourly), ("daily", daily), ("weekly", weekly), ("monthly", monthly), ("yearly", yearly)] {
      if let value { parts.append("keep-\(name)=\(value)") }
    }
    if let within { parts.append("keep-within=\(within)") }
    return parts.joined(separator: " ")
  }

  /// Reads ``description`` back.
  public init?(description: String) {
    for part in description.split(separator: " ") {
      let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
      guard pair.count == 2 else { return nil }
      if pair[0] == "keep-within" {
        guard within == nil, let w = Within(pair[1]) else { return nil }
        within = w
        continue
      }
      guard let n = Int(pair[1]), n >= 1, String(n) == pair[1] else { return nil }
      switch pair[0] {
      case "keep-last" where last == nil: last = n
      case "keep-hourly" where hourly == nil: hourly = n
      case "keep-daily" where daily == nil: daily = n
      case "keep-weekly" where weekly == nil: weekly = n
      case "keep-monthly" where monthly == nil: monthly = n
      case "keep-yearly" where yearly == nil: yearly = n
      default: return nil
      }
    }
  }

  /// A backup as retention sees it.
  public struct Item: Sendable {
    public let sequence: Int
    /// The seal's `Created`, `YYYY-MM-DDTHH:MM:SSZ`.
    public let created: String
    public init(sequence: Int, created: String) {
      self.sequence = sequence
      self.created = created
    }
  }

  /// The sequence numbers of the backups to keep, and for each the rules that keep it.
  public func keep(_ items: [Item]) -> [Int: [String]] {
    // Newest first; a tie in time goes to the higher sequence number.
    let list = items.sorted { ($0.created, $0.sequence) > ($1.created, $1.sequence) }
    var reasons: [Int: [String]] = [:]
    guard !isEmpty else {
      for item in list { reasons[item.sequence] = ["no retention rule: everything is kept"] }
      return reasons
    }
    var calendar = Calendar(identifier: .iso8601)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    func date(_ item: Item) -> Date { Date(timeIntervalSince1970: TimeInterval(Timestamp.seconds(item.created) ?? 0)) }
    // Each rule's period of a backup; the UTC time's text gives all but the ISO week.
    let rules: [(String, Int?, (Item) -> String)] = [
      ("last", last, { String($0.sequence) }),
      ("hourly", hourly, { String($0.created.prefix(13)) }),
      ("daily", daily, { String($0.created.prefix(10)) }),
      ("weekly", weekly, { item in
        let c = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date(item))
        return "\(c.yearForWeekOfYear ?? 0)-W\(c.weekOfYear ?? 0)"
      }),
      ("monthly", monthly, { String($0.created.prefix(7)) }),
      ("yearly", yearly, { String($0.created.prefix(4)) }),
    ]
    for (name, count, period) in rules {
      guard var left = count else { continue }
      var lastPeriod: String?
      for item in list where left > 0 {
        let p = period(item)
        if p != lastPeriod {
          reasons[item.sequence, default: []].append(name == "last" ? "keep-last" : "keep-\(name) (\(p))")
          lastPeriod = p
          left -= 1
        }
      }
      // Fewer periods than the rule may keep: the oldest backup is kept as well.
      if name != "last", left > 0, let oldest = list.last, reasons[oldest.sequence]?.contains(where: { $0.hasPrefix("keep-\(name)") }) != true {
        reasons[oldest.sequence, default: []].append("keep-\(name) (the oldest, with fewer periods than \(count!))")
      }
    }
    if let within, let newest = list.first {
      var back = DateComponents()
      (back.year, back.month, back.day, back.hour) = (-within.years, -within.months, -within.days, -within.hours)
      let limit = calendar.date(byAdding: back, to: date(newest)) ?? date(newest)
      for item in list where date(item) > limit {
        reasons[item.sequence, default: []].append("keep-within \(within)")
      }
    }
    return reasons
  }
}
