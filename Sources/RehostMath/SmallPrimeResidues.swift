import CResidues

/// n mod every one of a fixed list of word-sized divisors at once, straight from n's
/// big-endian bytes: what the small-factor and ROCA checks need of every RSA modulus.
///
/// Why not GMP: dividing by each divisor in turn (mpn_mod_1) recomputes the divisor's
/// inverse on every call and chains each step on the last; here the powers of the word
/// base mod d are computed once, so that n mod d is a sum of independent word products,
///     n = Σ limbᵢ·Bⁱ  ≡  Σ limbᵢ·(Bⁱ mod d)  (mod d),
/// accumulated and reduced once per block of limbs (longer numbers are folded a block at a
/// time by Horner's rule). The sums run in C (CResidues), in one of two kernels:
/// - ``Kernel/words``: 64-bit words and divisors below 2^58, summed in 128 bits (64
///   products below 2^122 never overflow), reduced by one division (`divq` on x86-64). Portable.
/// - ``Kernel/ifma``: AVX-512 IFMA, eight divisors per instruction: 52-bit limbs and
///   divisors in [2^16, 2^52), each product's low and high 52 bits summed apart, reduced
///   with quotients estimated in double precision and corrected exactly.
/// Measured alone on 2,048-bit moduli with the products of the primes up to 65,537 (1,936
/// divisors below 2^58, 2,080 below 2^52): 57–80 µs per modulus with `words`, 15–19 µs
/// with `ifma` (a `mulq`-bound loop against eight lanes per multiply). GMP's gcd with
/// their product (after reducing it mod n, as badkeys does) took 85 µs or more.
struct SmallPrimeResidues: Sendable {
  /// How the sums are computed; each has its own divisor bound and table layout.
  enum Kernel: Sendable, CaseIterable {
    case words, ifma

    /// The divisors this kernel takes are below this.
    var divisorLimit: UInt64 { self == .words ? 1 << 58 : 1 << 52 }
    var isSupported: Bool { self == .words || rehost_residues_ifma_supported() != 0 }
    /// `ifma` where the CPU has it (Intel since Ice Lake, AMD since Zen 4), else `words`.
    static let fastest: Kernel = Kernel.ifma.isSupported ? .ifma : .words
  }

  let kernel: Kernel
  /// The divisors, each below the kernel's limit.
  let divisors: [UInt64]
  /// `words`: 2^(64i) mod d for i in 0...64, 65 per divisor. `ifma`: 2^(52i) mod d for i
  /// in 0..<40, by vectors of eight divisors: [vector][i][lane].
  private let powers: [UInt64]
  /// `ifma` only, by divisor (the last vector padded by repeating the last divisor): the
  /// divisors themselves, 2^(52·40) mod d, 2^52 mod d, and 1/d.
  private let padded: [UInt64], fold: [UInt64], radix: [UInt64], inverse: [Double]
  private static let wordRows = 65, lanes = 8, ifmaBlock = 40

  init(divisors: [UInt64], kernel: Kernel = .fastest) {
    precondition(kernel.isSupported && divisors.allSatisfy { $0 > 1 && $0 < kernel.divisorLimit })
    self.kernel = kernel
    self.divisors = divisors
    /// 2^bits mod d, for d < 2^58 and bits ≤ 64, without overflow.
    func power2(_ bits: Int, _ x: UInt64, mod d: UInt64) -> UInt64 {
      d.dividingFullWidth((bits == 64 ? x : x >> (64 - bits), bits == 64 ? 0 : x << bits)).remainder
    }
    switch kernel {
    case .words:
      var powers: [UInt64] = []
      powers.reserveCapacity(divisors.count * Self.wordRows)
      for d in divisors {
        var x = 1 % d
        for _ in 0..<Self.wordRows {
          powers.append(x)
          x = power2(64, x, mod: d)
        }
      }
      (self.powers, padded, fold, radix, inverse) = (powers, [], [], [], [])
    case .ifma:
      precondition(divisors.allSatisfy { $0 >= 1 << 16 })
      let vectors = (divisors.count + Self.lanes - 1) / Self.lanes
      let padded = divisors + Array(repeating: divisors.last ?? 1 << 16, count: vectors * Self.lanes - divisors.count)
      var powers = [UInt64](repeating: 0, count: vectors * Self.ifmaBlock * Self.lanes)
      var fold: [UInt64] = []
      for (j, d) in padded.enumerated() {
        var x = 1 % d
        for i in 0..<Self.ifmaBlock {
          powers[((j / Self.lanes) * Self.ifmaBlock + i) * Self.lanes + j % Self.lanes] = x
          x = power2(52, x, mod: d)
        }
        fold.append(x)
      }
      (self.powers, self.padded, self.fold) = (powers, padded, fold)
      radix = padded.map { (1 << 52) % $0 }
      inverse = padded.map { 1 / Double($0) }
    }
  }

  /// `values` cut into runs whose product stays below `limit`, as the divisors of a table.
  static func products(of values: [UInt64], below limit: UInt64) -> [(product: UInt64, members: Range<Int>)] {
    var groups: [(product: UInt64, members: Range<Int>)] = []
    for (index, value) in values.enumerated() {
      if let last = groups.last, case let (product, overflow) = last.product.multipliedReportingOverflow(by: value),
        !overflow, product < limit
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
    let wordCount = (bigEndian.count + 7) / 8, outputs = max(padded.count, divisors.count)
    return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: max(wordCount, 1) + outputs) { scratch in
      let words = UnsafeMutableBufferPointer(rebasing: scratch[0..<wordCount])
      let residues = scratch.baseAddress! + wordCount
      Self.littleEndianWords(bigEndian, into: words)
      switch kernel {
      case .words:
        rehost_residues_words(words.baseAddress, wordCount, divisors, powers, divisors.count, residues)
      case .ifma:
        rehost_residues_ifma(words.baseAddress, wordCount, padded, powers, fold, radix, inverse, padded.count / Self.lanes, residues)
      }
      return body(UnsafeBufferPointer(start: residues, count: divisors.count))
    }
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
