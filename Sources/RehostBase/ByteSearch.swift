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
      // memchr for one byte of the needle, then compare the whole: the first byte that is
      // not a letter or digit, if it has one (key files are mostly base64, where a needle's
      // first letter, "s" of "ssh-", is everywhere), else its first.
      let start = needle.utf8Start
      let pivot = (0..<count).first { !isAlphanumeric(start[$0]) } ?? 0
      let tail = count - pivot  // bytes from the pivot to the needle's end
      var offset = pivot
      while offset + tail <= bytes.count {
        guard let hit = memchr(base + offset, Int32(start[pivot]), bytes.count - tail - offset + 1) else { return false }
        let candidate = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) - pivot
        if memcmp(base + candidate, start, count) == 0 { return true }
        offset = candidate + pivot + 1
      }
      return false
    }
    if let found = utf8.withContiguousStorageIfAvailable(search) { return found }
    var copy = self
    return copy.withUTF8(search)
  }
}

private func isAlphanumeric(_ c: UInt8) -> Bool {
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
}
