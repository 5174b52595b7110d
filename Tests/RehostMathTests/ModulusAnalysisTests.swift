@testable import RehostMath
import Testing

@Suite struct ModulusAnalysisTests {
  // Primes 1000003, 1000033, 1000037, 1000039, 1000081.
  @Test func smallFactorsAreFound() {
    #expect(ModulusAnalysis.smallFactor(modulusHex: "17FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD") == 3)  // 3 * (2^127 - 1)
    #expect(ModulusAnalysis.smallFactor(modulusHex: "E8D6CA6163") == nil)  // 1000003 * 1000033
    // Factors from the middle and the end of the prime groups: 7919, 9973, 65521, and
    // 65537 (the largest badkeys tries), each times 2^127 - 1.
    #expect(ModulusAnalysis.smallFactor(modulusHex: "F777FFFFFFFFFFFFFFFFFFFFFFFFFFFE111") == 7919)
    #expect(ModulusAnalysis.smallFactor(modulusHex: "137A7FFFFFFFFFFFFFFFFFFFFFFFFFFFD90B") == 9973)
    #expect(ModulusAnalysis.smallFactor(modulusHex: "7FF87FFFFFFFFFFFFFFFFFFFFFFFFFFF000F") == 65521)
    #expect(ModulusAnalysis.smallFactor(modulusHex: "80007FFFFFFFFFFFFFFFFFFFFFFFFFFEFFFF") == 65537)
  }

  /// The kernels this CPU runs: every test of the tables runs on each (`ifma` only where
  /// the CPU has AVX-512 IFMA; `words` is what other CPUs use).
  static let kernels = SmallPrimeResidues.Kernel.allCases.filter(\.isSupported)
  static let tables = kernels.map { ModulusAnalysis.SmallPrimeTable(kernel: $0) }

  /// Every prime up to 65,537 is found as the factor of p·(2^127 - 1), and no other is
  /// reported for p·q with both primes above it.
  @Test func everySmallPrimeIsFound() {
    let mersenne = "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"  // 2^127 - 1, prime
    for table in Self.tables {
      for p in ModulusAnalysis.smallPrimes {
        let n = GMPInteger(hex: mersenne)!
        n.mul(n, UInt(p))
        #expect(ModulusAnalysis.smallFactor(modulusHex: n.hex, table: table) == p, "p = \(p), \(table.residues.kernel)")
      }
    }
    #expect(ModulusAnalysis.smallPrimes.count == 6543 && ModulusAnalysis.smallPrimes.last == 65537)
    #expect(ModulusAnalysis.smallFactor(modulusHex: "26F5") == nil)  // 9973, itself prime: not "a factor"
    #expect(ModulusAnalysis.smallFactor(modulusHex: "10001") == nil)  // 65537 itself
    #expect(ModulusAnalysis.smallFactor(modulusHex: "5F8523F") == 10007)  // 10007 * 10009
    #expect(ModulusAnalysis.smallFactor(modulusHex: "1000A0015") == nil)  // 65539 * 65543
  }

  /// The residues against GMP's remainder, for every divisor, on numbers of 0 to 200 words
  /// (one block of 64 words or 40 limbs and several), with leading zero bytes, odd byte
  /// counts, all ones (the largest sums) and zero runs, on each kernel.
  @Test(arguments: kernels) func residuesEqualGMPsRemainders(kernel: SmallPrimeResidues.Kernel) {
    var generator = SystemRandomNumberGenerator()
    let table = ModulusAnalysis.SmallPrimeTable(kernel: kernel).residues
    #expect(table.divisors.count == (kernel == .words ? 1936 : 2080))
    for round in 0..<400 {
      let byteCount = round < 20 ? round : Int.random(in: 0...1600, using: &generator)
      var bytes = (0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) }
      if round % 5 == 0 { bytes.insert(contentsOf: [0, 0, 0], at: 0) }
      if round % 9 == 0 { bytes = bytes.map { _ in 0xFF } }
      if round % 11 == 0 { bytes.replaceSubrange(bytes.count / 2..<bytes.count, with: repeatElement(0, count: bytes.count - bytes.count / 2)) }
      let n = GMPInteger(bigEndian: bytes)
      let residues = bytes.withUnsafeBytes { table.withResidues(ofBigEndian: $0) { Array($0) } }
      #expect(residues.count == table.divisors.count)
      for (d, r) in zip(table.divisors, residues) where n.remainder(UInt(d)) != UInt(r) {
        Issue.record("\(kernel), \(bytes.count) bytes, mod \(d): \(r), GMP says \(n.remainder(UInt(d)))")
        break
      }
    }
    #expect(GMPInteger(bigEndian: [0, 1, 2]).bigEndianBytes == [1, 2])
    #expect(GMPInteger(bigEndian: []).bigEndianBytes == [])
  }

  /// Against plain trial division, on 600 random numbers of 1 to 150 words, half of them
  /// given a small factor, and the multiplication test against % on every residue class.
  @Test func smallFactorEqualsTrialDivision() {
    var generator = SystemRandomNumberGenerator()
    for round in 0..<600 {
      let n = GMPInteger(1)
      for _ in 0..<Int.random(in: 1...150, using: &generator) { n.mul(n, UInt.random(in: 1...UInt.max, using: &generator)) }
      if round % 2 == 0 { n.mul(n, UInt(ModulusAnalysis.smallPrimes.randomElement(using: &generator)!)) }
      if round % 7 == 0 { n.add(n, 1) }
      let expected = ModulusAnalysis.smallPrimes.first { n.remainder(UInt($0)) == 0 }.flatMap { n.compare(UInt($0)) == 0 ? nil : $0 }
      for table in Self.tables {
        #expect(ModulusAnalysis.smallFactor(modulusHex: n.hex, table: table) == expected, "\(n.hex), \(table.residues.kernel)")
      }
    }
    for p in ModulusAnalysis.smallPrimes {
      let prime = ModulusAnalysis.SmallPrime(p)
      for x in [0, 1, p - 1, p, p + 1, 2 * p, UInt64.max, UInt64.max - UInt64.max % p, UInt64.max / p * p - p] {
        #expect(prime.divides(x) == (x % p == 0), "\(x) mod \(p)")
      }
      for _ in 0..<20 {
        let x = UInt64.random(in: 0...UInt64.max / p, using: &generator) * p &+ UInt64.random(in: 0..<2, using: &generator)
        #expect(prime.divides(x) == (x % p == 0), "\(x) mod \(p)")
      }
    }
  }

  /// With the primes known, the verdict is computed, not searched for: it must agree with
  /// the search, step for step, at the edge of the rounds allowed.
  @Test func knownPrimesAgreeWithTheSearch() {
    var composite = [Bool](repeating: false, count: 1_200_000)
    var primes: [UInt] = []
    for i in 2..<composite.count where !composite[i] {
      if i > 1_000_000 { primes.append(UInt(i)) }
      var j = i * i
      while j < composite.count { composite[j] = true; j += i }
    }
    var close = 0, far = 0
    for (index, p) in primes.prefix(400).enumerated() {
      for q in [primes[index + 1], primes[index + 40], primes[index + 400], primes[index + 2000]] {
        let n = GMPInteger(p)
        n.mul(n, q)
        for rounds in [1, 5, 100] {
          let searched = ModulusAnalysis.fermatFactors(modulusHex: n.hex, rounds: rounds) != nil
          let verdict = ModulusAnalysis.checkPrimes(modulusHex: n.hex, p: GMPInteger(p).hex, q: GMPInteger(q).hex, rounds: rounds)
          #expect(verdict == (searched ? .fermatFactors : .sound), "p \(p) q \(q) rounds \(rounds)")
          if searched { close += 1 } else { far += 1 }
        }
      }
    }
    #expect(close > 100 && far > 100)  // both sides of the edge were tried
    #expect(ModulusAnalysis.checkPrimes(modulusHex: "E8D6CA6163", p: "0F4243", q: "0F4262") == .productIsNotModulus)
    #expect(ModulusAnalysis.checkPrimes(modulusHex: "E8D6CA6163", p: "01", q: "E8D6CA6163") == .productIsNotModulus)
  }

  /// The verdict that bit lengths give without a square root agrees with the exact test, on
  /// numbers of 16 to 1,100 bits whose difference runs from 0 to well past where the bit
  /// lengths start to decide (a bound two bits bolder than the proven one fails here).
  @Test func theShortcutAgreesWithTheExactTest() {
    var generator = SystemRandomNumberGenerator()
    var close = 0, far = 0
    for _ in 0..<3000 {
      let bits = Int.random(in: 16...1100, using: &generator)
      var bytes = (0..<(bits + 7) / 8).map { _ in UInt8.random(in: 0...255, using: &generator) }
      bytes[0] |= 0x80
      let p = GMPInteger(bigEndian: bytes)
      let gapBits = Int.random(in: 0...min(bits - 2, bits / 2 + 12), using: &generator)  // q > p / 2
      let gapBytes = (gapBits + 7) / 8
      let gap = GMPInteger(bigEndian: (0..<gapBytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
      gap.shiftRight(gap, 8 * gapBytes - gapBits)  // below 2^gapBits
      let q = GMPInteger()
      if Bool.random(using: &generator) { q.add(p, gap) } else { q.sub(p, gap) }
      let n = GMPInteger(), sum = GMPInteger()
      n.mul(p, q)
      sum.add(p, q)
      for rounds in [0, 1, 100, 5000] {
        let exact = ModulusAnalysis.fermatReaches(n, sum: sum, rounds: rounds)
        #expect(ModulusAnalysis.checkPrimes(n, p, q, rounds: rounds) == (exact ? .fermatFactors : .sound),
                "p \(p.hex) q \(q.hex) rounds \(rounds)")
        if exact { close += 1 } else { far += 1 }
      }
    }
    #expect(close > 500 && far > 500)
  }

  @Test func closePrimesFallToFermat() {
    let factors = ModulusAnalysis.fermatFactors(modulusHex: "E8D6CA6163")
    #expect(factors.map { [$0.0, $0.1] } == ["0F4243", "0F4261"])  // 1000003, 1000033
    #expect(ModulusAnalysis.fermatFactors(modulusHex: "17FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD") == nil)
    // A perfect square (p = q) and primes 2·100 apart: just within and just beyond 100 rounds.
    #expect(ModulusAnalysis.fermatFactors(modulusHex: "E8D5009D89")?.0 == "0F4243")  // 1000003^2
    #expect(ModulusAnalysis.fermatFactors(modulusHex: "1", rounds: 5) == nil)
  }

  @Test func batchGCDFindsSharedPrimesOnly() {
    let moduli = ["E8D6CA6163", "E8D8D13245", "E8DBCC2A57"]  // p1*p2, p2*p3, p4*p5
    let shared = BatchGCD.sharedFactors(moduliHex: moduli)
    #expect(shared == [0: "0F4261", 1: "0F4261"])  // p2 = 1000033
    #expect(BatchGCD.sharedFactors(moduliHex: ["E8D6CA6163", "E8DBCC2A57"]).isEmpty)
  }

  /// Against pairwise gcds: moduli made of primes between 10^5 and 10^6 (so their products
  /// fit in 64 bits), some sharing a prime, in tree shapes of every parity.
  @Test(arguments: [2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 100, 257])
  func batchGCDEqualsPairwiseGCDs(count: Int) {
    let primes = ModulusAnalysis.primes(below: 1_000_000).filter { $0 > 100_000 }
    var generator = SystemRandomNumberGenerator()
    var moduli: [UInt64] = []
    while moduli.count < count {
      // Draw from a small pool now and then, so that primes repeat across moduli.
      let pool = moduli.count % 3 == 0 ? primes.prefix(40) : primes[...]
      let n = pool.randomElement(using: &generator)! * primes.randomElement(using: &generator)!
      if !moduli.contains(n) { moduli.append(n) }
    }
    func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 { b == 0 ? a : gcd(b, a % b) }
    var expected: [Int: UInt64] = [:]
    for i in moduli.indices {
      let g = moduli.indices.filter { $0 != i }.reduce(UInt64(1)) { acc, j in
        let shared = gcd(moduli[i], moduli[j])
        return shared > 1 ? acc / gcd(acc, shared) * shared : acc  // both divide n: the lcm does too
      }
      if g > 1 { expected[i] = g }
    }
    let found = BatchGCD.sharedFactors(moduliHex: moduli.map { String($0, radix: 16) })
    #expect(found.mapValues { UInt64($0, radix: 16)! } == expected, "moduli \(moduli)")
  }

  /// Real sizes: 600 moduli of about 2,048 bits, each the product of its own ~100 primes
  /// of 20-21 bits (so all are coprime), and one more that shares a prime with modulus 1.
  /// The leaves' precision must hold at full size and depth, on every core.
  @Test func batchGCDOnLargeModuli() {
    let primes = ModulusAnalysis.primes(below: 2_200_000).filter { $0 > 1 << 20 }
    var next = primes.makeIterator()
    func modulus(with extra: UInt64? = nil) -> GMPInteger {
      let n = GMPInteger(1)
      if let extra { n.mul(n, UInt(extra)) }
      while n.bitCount < 2048 { n.mul(n, UInt(next.next()!)) }
      return n
    }
    var moduli = (0..<600).map { _ in modulus().hex }
    let sharedPrime = primes[150]  // among modulus 1's primes
    moduli.append(modulus(with: sharedPrime).hex)
    let found = BatchGCD.sharedFactors(moduliHex: moduli)
    #expect(Set(found.keys) == [1, 600])
    #expect(found[600].flatMap { UInt64($0, radix: 16) } == sharedPrime)
  }
  /// Against pairwise gcds, with a random part of the moduli given with their primes (as
  /// private keys give them): the same moduli are flagged, each with exactly the partners
  /// it has a common factor with, and a factor it shares.
  @Test(arguments: [(2, 0.5), (5, 1.0), (9, 0.0), (17, 0.3), (33, 0.7), (64, 0.9), (101, 0.5)])
  func sharedPrimesEqualPairwiseGCDs(count: Int, knownShare: Double) {
    let primes = ModulusAnalysis.primes(below: 1_000_000).filter { $0 > 100_000 }
    var generator = SystemRandomNumberGenerator()
    var moduli: [UInt64] = [], factors: [[UInt64]] = []
    while moduli.count < count {
      let pool = moduli.count % 3 == 0 ? primes.prefix(30) : primes[...]
      let p = pool.randomElement(using: &generator)!, q = primes.randomElement(using: &generator)!
      if p != q && !moduli.contains(p * q) { moduli.append(p * q); factors.append([p, q]) }
    }
    var known: [Int: [String]] = [:]
    for i in moduli.indices where Double.random(in: 0..<1, using: &generator) < knownShare {
      known[i] = factors[i].map { String($0, radix: 16) }
    }
    func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 { b == 0 ? a : gcd(b, a % b) }
    let found = SharedPrimes.find(moduliHex: moduli.map { String($0, radix: 16) }, primesHex: known)
    for i in moduli.indices {
      let partners = moduli.indices.filter { $0 != i && gcd(moduli[i], moduli[$0]) > 1 }
      let share = found[i]
      #expect(share?.partners ?? [] == partners, "modulus \(i) of \(moduli), known \(known.keys.sorted())")
      if let factor = share.flatMap({ UInt64($0.factorHex, radix: 16) }) {
        #expect(factor > 1 && moduli[i] % factor == 0 && partners.contains { gcd(moduli[$0], factor) > 1 })
      }
    }
  }

  /// A public modulus made of two primes that two private keys hold, one each; and a
  /// private key that shares nothing is left out.
  @Test func publicModulusOfTwoKnownPrimes() {
    let (p1, p2, p3, p4, p5) = (UInt64(1_000_003), UInt64(1_000_033), UInt64(1_000_037), UInt64(1_000_039), UInt64(1_000_081))
    let moduli = [p1 * p2, p3 * p4, p1 * p3, p5 * 1_000_099].map { String($0, radix: 16) }
    let hex = { (x: UInt64) in String(x, radix: 16) }
    let found = SharedPrimes.find(moduliHex: moduli, primesHex: [0: [hex(p1), hex(p2)], 1: [hex(p3), hex(p4)], 3: [hex(p5), hex(1_000_099)]])
    #expect(found.mapValues(\.partners) == [0: [2], 1: [2], 2: [0, 1]])
    #expect(found[0]?.factorHex == String(p1, radix: 16).uppercased().paddedToBytes)
    #expect(found[2]?.factorHex == String(p1 * p3, radix: 16).uppercased().paddedToBytes)
  }
}

extension String {
  var paddedToBytes: String { count % 2 == 1 ? "0" + self : self }
}
