import Glibc

extension String {
  /// Whether `needle`'s UTF-8 bytes occur among this string's, searched on the bytes.
  /// (With Foundation imported, `contains` on strings goes through NSString's UTF-16
  /// search: a sixth of `rehost check`'s time on a directory of keys.)
  public func containsBytes(_ needle: StaticString) -> Bool {
    let count = needle.utf8CodeUnitCount
    func search(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
      guard count > 0 else { return true }
      guard let base = bytes.baseAddress, bytes.count >= count else { return false }
      let first = Int32(needle.utf8Start[0])
      var offset = 0
      while offset + count <= bytes.count {
        guard let hit = memchr(base + offset, first, bytes.count - count - offset + 1) else { return false }
        if memcmp(hit, needle.utf8Start, count) == 0 { return true }
        offset = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) + 1
      }
      return false
    }
    if let found = utf8.withContiguousStorageIfAvailable(search) { return found }
    var copy = self
    return copy.withUTF8(search)
  }
}
