/// n mod every one of a fixed list of word-sized divisors at once, straight from n's
/// big-endian bytes: what the small-factor and ROCA checks need of every RSA modulus.
///
/// Why not GMP: dividing by each divisor in turn (mpn_mod_1) recomputes the divisor's
/// inverse on every call and chains each step on the last; here the powers 2^(64i) mod d
/// are computed once, so that n mod d is a sum of independent word products,
///     n = Σ limbᵢ·2^(64i)  ≡  Σ limbᵢ·(2^(64i) mod d)  (mod d),
/// accumulated in 128 bits and reduced once. Every divisor is below 2^58, so 64 products
/// (each below 2^122) never overflow 128 bits: moduli up to 4,096 bits take one pass, and
/// longer ones are folded 64 words at a time (Horner's rule with 2^4096 mod d).
/// Measured alone on 2,048-bit moduli with the 1,936 products of the primes up to 65,537:
/// 57 µs per modulus, where GMP's gcd with their product (after reducing it mod n, as
/// badkeys does) took 85 µs or more.
/// (Four-way sums, and a division by a precomputed reciprocal instead of the 128-bit one,
/// measured no faster: the multiplications are the bound.)
struct SmallPrimeResidues: Sendable {
  /// The divisors, each below 2^58.
  let divisors: [UInt64]
  /// Per divisor, 2^(64i) mod d for i in 0...64 (`rows` words per divisor).
  private let powers: [UInt64]
  static let blockWords = 64
  private static let rows = blockWords + 1

  init(divisors: [UInt64]) {
    precondition(divisors.allSatisfy { $0 > 1 && $0 < 1 << 58 })
    self.divisors = divisors
    var powers: [UInt64] = []
    powers.reserveCapacity(divisors.count * Self.rows)
    for d in divisors {
      var x = 1 % d
      for _ in 0..<Self.rows {
        powers.append(x)
        x = d.dividingFullWidth((x, 0)).remainder  // x·2^64 mod d
      }
    }
    self.powers = powers
  }

  /// `values` cut into runs whose product stays below 2^58, as the divisors of a table.
  static func products(of values: [UInt64]) -> [(product: UInt64, members: Range<Int>)] {
    var groups: [(product: UInt64, members: Range<Int>)] = []
    for (index, value) in values.enumerated() {
      if let last = groups.last, case let (product, overflow) = last.product.multipliedReportingOverflow(by: value),
        !overflow, product < 1 << 58
      {
        groups[groups.count - 1] = (product, last.members.lowerBound..<(index + 1))
      } else {
        groups.append((value, index..<(index + 1)))
      }
    }
    return groups
  }

  /// Calls `body` with n mod each divisor, in order, where n is `bigEndian` read as an
  /// unsigned big-endian number (leading zero bytes allowed, empty is 0).
  func withResidues<R>(ofBigEndian bigEndian: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt64>) -> R) -> R {
    let wordCount = (bigEndian.count + 7) / 8
    return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: max(wordCount, 1) + divisors.count) { scratch in
      let words = UnsafeMutableBufferPointer(rebasing: scratch[0..<wordCount])
      let residues = UnsafeMutableBufferPointer(rebasing: scratch[wordCount...].prefix(divisors.count))
      Self.littleEndianWords(bigEndian, into: words)
      powers.withUnsafeBufferPointer { powers in
        for (j, d) in divisors.enumerated() {
          let power = powers.baseAddress! + j * Self.rows
          // Blocks of 64 words, the most significant first (the only one that may be
          // shorter): r = r·2^4096 + block (mod d).
          var r: UInt64 = 0
          var end = wordCount, start = wordCount == 0 ? 0 : (wordCount - 1) / Self.blockWords * Self.blockWords
          while end > 0 {
            // Two sums, so that each addition need not wait for the one before.
            var (low, high) = (UInt64(0), UInt64(0)), (low2, high2) = (UInt64(0), UInt64(0))
            let word = words.baseAddress! + start, count = end - start
            var i = 0
            while i + 1 < count {
              Self.add(word[i].multipliedFullWidth(by: power[i]), to: &low, &high)
              Self.add(word[i + 1].multipliedFullWidth(by: power[i + 1]), to: &low2, &high2)
              i &+= 2
            }
            if i < count { Self.add(word[i].multipliedFullWidth(by: power[i]), to: &low, &high) }
            Self.add((high2, low2), to: &low, &high)
            let block = d.dividingFullWidth((high % d, low)).remainder
            if end == wordCount {
              r = block
            } else {
              r = (d.dividingFullWidth(r.multipliedFullWidth(by: power[Self.blockWords])).remainder + block) % d
            }
            end = start
            start = max(0, start - Self.blockWords)
          }
          residues[j] = r
        }
      }
      return body(UnsafeBufferPointer(residues))
    }
  }

  /// (high, low) += value, in 128 bits.
  @inline(__always) private static func add(_ value: (high: UInt64, low: UInt64), to low: inout UInt64, _ high: inout UInt64) {
    let (sum, carry) = low.addingReportingOverflow(value.low)
    low = sum
    high &+= value.high &+ (carry ? 1 : 0)
  }

  /// n's words, least significant first, from its big-endian bytes.
  static func littleEndianWords(_ bigEndian: UnsafeRawBufferPointer, into words: UnsafeMutableBufferPointer<UInt64>) {
    var end = bigEndian.count
    for i in words.indices {
      if end >= 8 {
        words[i] = UInt64(bigEndian: bigEndian.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self))
        end -= 8
      } else {
        words[i] = bigEndian[0..<end].reduce(0) { $0 << 8 | UInt64($1) }
        end = 0
      }
    }
  }
}
