import Testing

@testable import RehostBackups

/// Retention decides alone which backups a prune removes, and verify-chain replays it
/// over each prune: its rules, edge cases and its one-line form.
@Suite struct RetentionTests {
  /// Backups at these UTC times, numbered from 1 in this order.
  func items(_ times: [String]) -> [Retention.Item] {
    times.enumerated().map { Retention.Item(sequence: $0.offset + 1, created: $0.element) }
  }

  func kept(_ retention: Retention, _ times: [String]) -> [Int] { retention.keep(items(times)).keys.sorted() }

  @Test func periodsKeepTheNewestOfEachAndTheOldestWhenShort() {
    let times = ["2026-01-30T03:00:00Z", "2026-01-31T03:00:00Z", "2026-01-31T15:00:00Z", "2026-02-01T03:00:00Z", "2026-02-01T09:00:00Z"]
    var r = Retention()
    r.daily = 2
    #expect(kept(r, times) == [3, 5])
    r.daily = 4  // three days only: the oldest as well
    #expect(kept(r, times) == [1, 3, 5])
    r = Retention()
    r.monthly = 1
    #expect(kept(r, times) == [5])
    r.hourly = 2
    #expect(kept(r, times) == [4, 5])
    r = Retention()
    r.weekly = 2  // 2026-01-30 to 02-01 is one ISO week (W5): short, so the oldest too
    #expect(kept(r, times) == [1, 5])
  }

  @Test func lastAndWithinCountFromTheNewest() {
    let times = ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-03T12:00:00Z"]
    var r = Retention()
    r.last = 2
    #expect(kept(r, times) == [3, 4])
    r = Retention()
    r.within = Retention.Within("1d12h")
    #expect(kept(r, times) == [3, 4])  // 2026-01-02T00:00 is exactly 1d12h older: not within
    r.within = Retention.Within("1d13h")
    #expect(kept(r, times) == [2, 3, 4])
    #expect(Retention().keep(items(times)).count == 4, "no rule keeps everything")
    // A tie in time goes to the higher sequence number.
    r = Retention()
    r.last = 1
    #expect(kept(r, ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]) == [2])
  }

  @Test func theOneLineFormReadsBack() throws {
    var r = Retention()
    (r.last, r.daily, r.yearly, r.within) = (7, 14, 3, Retention.Within("1y2m3d4h"))
    #expect(r.description == "keep-last=7 keep-daily=14 keep-yearly=3 keep-within=1y2m3d4h")
    #expect(Retention(description: r.description) == r)
    for bad in ["keep-last=0", "keep-last=07", "keep-daily=3 keep-daily=4", "keep-fortnightly=2", "keep-within=3w", "keep-last"] {
      #expect(Retention(description: bad) == nil, "\(bad)")
    }
    for bad in ["", "d", "3", "2h1d", "1d1d", "3w", "-1d"] { #expect(Retention.Within(bad) == nil, "\(bad)") }
    #expect(Retention.Within("36h")?.hours == 36)
  }
}
