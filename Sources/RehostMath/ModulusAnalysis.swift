import CResidues

/// Checks of one RSA modulus that need no list: small factors, primes close enough for
/// Fermat's method, the ROCA fingerprint. (Primes shared between keys: ``BatchGCD``.)
///
/// Small factors and ROCA from one table of residues (``SmallPrimeResidues``, in C);
/// Fermat's method and the primes' checks on GMP. A few tens of microseconds per key, so
/// that checking a hundred thousand keys takes seconds.
public enum ModulusAnalysis {
  /// What the checks below say about one modulus.
  public struct Verdicts: Equatable, Sendable {
    /// Its smallest prime factor up to 65,537, if any.
    public var smallFactor: UInt64?
    /// What the private key's primes say, when they were given (and there is no small factor).
    public var primes: PrimesVerdict?
    /// Its primes are so close that Fermat's method factors it: by the primes given, else by
    /// the search (which runs only when neither primes nor a small factor answered).
    public var fermat = false
    public var roca = false
    public init() {}
  }

  /// Every check of this file on one modulus, read once: a check of a key runs them all,
  /// and reading the number once per check cost more than some of the checks. `modulus` is
  /// big-endian; `primes` is a private key's p and q, big-endian.
  public static func verdicts(modulus: [UInt8], primes: [[UInt8]]? = nil) -> Verdicts {
    var verdicts = Verdicts()
    let residues = smallPrimeResidues(modulus)
    verdicts.smallFactor = smallFactor(residues: residues, modulus: modulus)
    verdicts.roca = hasROCAFingerprint(residues: residues)
    guard verdicts.smallFactor == nil else { return verdicts }
    let n = GMPInteger(bigEndian: modulus)
    if let primes, primes.count == 2 {
      let verdict = checkPrimes(n, GMPInteger(bigEndian: primes[0]), GMPInteger(bigEndian: primes[1]), rounds: 100)
      verdicts.primes = verdict
      verdicts.fermat = verdict == .fermatFactors
    } else {
      verdicts.fermat = fermatFactors(n, rounds: 100) != nil
    }
    return verdicts
  }

  /// ``verdicts(modulus:primes:)`` of numbers in hex; nil when one is not hex.
  public static func verdicts(modulusHex: String, primesHex: [String]? = nil) -> Verdicts? {
    let primes = primesHex?.map { GMPInteger(hex: $0)?.bigEndianBytes }
    guard let n = GMPInteger(hex: modulusHex), primes?.contains(nil) != true else { return nil }
    return verdicts(modulus: n.bigEndianBytes, primes: primes?.map { $0! })
  }

  /// The smallest prime factor of `n` up to 65,537, if any (nil if `n` is that prime).
  public static func smallFactor(modulusHex: String) -> UInt64? {
    smallFactor(modulusHex: modulusHex, table: .fastest)
  }

  static func smallFactor(modulusHex: String, table: SmallPrimeTable) -> UInt64? {
    GMPInteger(hex: modulusHex).flatMap { n in
      let bytes = n.bigEndianBytes
      return smallFactor(residues: smallPrimeResidues(bytes, table: table), modulus: bytes, table: table)
    }
  }

  /// The primes trial division tries: those up to 65,537, as badkeys' smallfactors does
  /// (by a gcd with their product).
  static let smallPrimes = primes(below: 65_538)
  static let smallPrimeFactors = smallPrimes.map(SmallPrime.init)
  static let smallPrimeInverses = smallPrimeFactors.map(\.inverse), smallPrimeLimits = smallPrimeFactors.map(\.limit)

  /// The small primes in runs whose products are a residue table's divisors (which run
  /// depends on the kernel's divisor bound), and where the ROCA primes fall in them.
  struct SmallPrimeTable: Sendable {
    let residues: SmallPrimeResidues
    /// For each small prime, the index of its run.
    let groupOfPrime: [UInt32]
    /// Each ROCA prime with the index of the run that holds it, and its subgroup.
    let rocaMembers: [(group: Int, prime: UInt64, inSubgroup: [Bool])]

    init(kernel: SmallPrimeResidues.Kernel) {
      let groups = SmallPrimeResidues.products(of: smallPrimes, below: kernel.divisorLimit)
      residues = SmallPrimeResidues(divisors: groups.map(\.product), kernel: kernel)
      groupOfPrime = groups.enumerated().flatMap { index, group in group.members.map { _ in UInt32(index) } }
      rocaMembers = rocaSubgroups.map { [groupOfPrime] r, inSubgroup in
        (Int(groupOfPrime[smallPrimes.firstIndex(of: UInt64(r))!]), UInt64(r), inSubgroup)
      }
    }

    /// On the fastest kernel this CPU runs.
    static let fastest = SmallPrimeTable(kernel: .fastest)
  }

  /// n mod each of the small primes' products.
  static func smallPrimeResidues(_ modulus: [UInt8], table: SmallPrimeTable = .fastest) -> [UInt64] {
    modulus.withUnsafeBytes { bytes in table.residues.withResidues(ofBigEndian: bytes) { Array($0) } }
  }

  /// The smallest of the small primes dividing n, from its residues; nil when there is none,
  /// or when n is that prime itself.
  static func smallFactor(residues: [UInt64], modulus: [UInt8], table: SmallPrimeTable = .fastest) -> UInt64? {
    let index = rehost_first_dividing(residues, table.groupOfPrime, smallPrimeInverses, smallPrimeLimits, smallPrimes.count,
                                      table.residues.kernel == .ifma ? 1 : 0)
    guard index < smallPrimes.count else { return nil }
    let p = smallPrimes[index]
    let significant = modulus.drop { $0 == 0 }
    let isP = significant.count <= 8 && significant.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } == p
    return isP ? nil : p
  }

  /// A prime with what tells in one multiplication whether it divides a word: x is a
  /// multiple of an odd p exactly when x·p⁻¹ mod 2⁶⁴ ≤ (2⁶⁴ - 1) / p (the multiples of p
  /// are what p⁻¹ maps onto 0...(2⁶⁴ - 1) / p); of 2 when x·2⁶³ mod 2⁶⁴ is 0.
  struct SmallPrime: Sendable {
    let value: UInt64
    let inverse: UInt64
    let limit: UInt64

    init(_ p: UInt64) {
      value = p
      // p⁻¹ mod 2⁶⁴ by Newton's iteration, each step doubling the correct low bits (p is its own inverse mod 8).
      var x = p
      for _ in 0..<5 { x = x &* (2 &- p &* x) }
      inverse = p == 2 ? 1 << 63 : x
      limit = p == 2 ? 0 : UInt64.max / p
    }

    func divides(_ x: UInt64) -> Bool { x &* inverse <= limit }
  }

  /// Factors `n` by Fermat's method when its primes are so close that `rounds` steps from
  /// ceil(sqrt(n)) suffice. Returns the two factors in hex.
  public static func fermatFactors(modulusHex: String, rounds: Int = 100) -> (String, String)? {
    GMPInteger(hex: modulusHex).flatMap { fermatFactors($0, rounds: rounds) }
  }

  static func fermatFactors(_ n: GMPInteger, rounds: Int) -> (String, String)? {
    guard n.sign > 0 else { return nil }
    // a = ceil(sqrt(n)); b2 = a^2 - n, then (a+1)^2 - n = b2 + 2a + 1 for each next a.
    let a = GMPInteger(), b2 = GMPInteger()
    a.squareRoot(n, remainder: b2)
    if b2.sign != 0 {
      a.add(a, 1)
      b2.mul(a, a)
      b2.sub(b2, n)
    }
    for _ in 0..<rounds {
      if b2.isPerfectSquare {
        let b = GMPInteger(), p = GMPInteger(), q = GMPInteger()
        b.squareRoot(b2)
        p.sub(a, b)
        q.add(a, b)
        return p.compare(1) == 0 ? nil : (p.hex, q.hex)
      }
      b2.add(b2, a)
      b2.add(b2, a)
      b2.add(b2, 1)
      a.add(a, 1)
    }
    return nil
  }

  /// What a private key's own primes say about it.
  public enum PrimesVerdict: Equatable, Sendable {
    /// p·q = n, and the primes are not close.
    case sound
    /// p·q ≠ n: the key is corrupt (or forged); it cannot work.
    case productIsNotModulus
    /// p·q = n, but the primes are close enough that ``fermatFactors(modulusHex:rounds:)``
    /// factors n from the public key alone within `rounds` steps.
    case fermatFactors
  }

  /// A private key gives p and q: check them directly rather than searching for them.
  /// Fermat's method, started at a = ceil(sqrt(n)), stops at a = (p + q) / 2; it succeeds
  /// within `rounds` steps exactly when (p + q) / 2 - ceil(sqrt(n)) < rounds.
  public static func checkPrimes(modulusHex: String, p pHex: String, q qHex: String, rounds: Int = 100) -> PrimesVerdict {
    guard let n = GMPInteger(hex: modulusHex), let p = GMPInteger(hex: pHex), let q = GMPInteger(hex: qHex) else {
      return .productIsNotModulus
    }
    return checkPrimes(n, p, q, rounds: rounds)
  }

  static func checkPrimes(_ n: GMPInteger, _ p: GMPInteger, _ q: GMPInteger, rounds: Int) -> PrimesVerdict {
    let product = GMPInteger()
    product.mul(p, q)
    guard product.compare(n) == 0, p.compare(1) > 0, q.compare(1) > 0 else { return .productIsNotModulus }
    let sum = GMPInteger(), difference = GMPInteger()
    sum.add(p, q)
    difference.sub(p, q)
    // Most keys are decided by bit lengths, without the square root (with it, this took
    // about 5 % of checking a private key): (p + q)/2 - sqrt(n) = (p - q)^2 / (2 (sqrt p + sqrt q)^2), at least
    // (p - q)^2 / (4 (p + q)), and the steps counted below are at most 3/2 fewer. So
    // (p - q)^2 >= 4 (p + q) (rounds + 2) means at least `rounds` steps; 2^(2 (bits - 1))
    // bounds the left side from below, 2^(2 + bits + bits) the right side from above.
    let roundsBits = UInt.bitWidth - (UInt(max(0, rounds)) + 2).leadingZeroBitCount
    if 2 * (difference.bitCount - 1) >= 2 + sum.bitCount + roundsBits { return .sound }
    return fermatReaches(n, sum: sum, rounds: rounds) ? .fermatFactors : .sound
  }

  /// Whether (p + q) / 2 - ceil(sqrt(n)) < rounds, from p + q: the exact test.
  static func fermatReaches(_ n: GMPInteger, sum: GMPInteger, rounds: Int) -> Bool {
    let a = GMPInteger(), remainder = GMPInteger(), half = GMPInteger()
    a.squareRoot(n, remainder: remainder)
    if remainder.sign != 0 { a.add(a, 1) }
    half.shiftRight(sum, 1)
    half.sub(half, a)
    return half.compare(UInt(max(0, rounds))) < 0
  }

  /// The ROCA fingerprint (CVE-2017-15361, Infineon RSALib): such keys' primes are
  /// k·M + (65537^a mod M), so n mod r lies in the subgroup that 65537 generates mod r for
  /// every small prime r dividing M. Random moduli pass this for all 38 primes (3...167)
  /// with negligible probability. This follows the published detection method; it is
  /// tested with keys built with that structure, not with keys from an Infineon chip.
  public static func hasROCAFingerprint(modulusHex: String) -> Bool {
    GMPInteger(hex: modulusHex).map { hasROCAFingerprint(residues: smallPrimeResidues($0.bigEndianBytes)) } ?? false
  }

  /// From n's residues by the small primes' products (every ROCA prime is among them).
  static func hasROCAFingerprint(residues: [UInt64], table: SmallPrimeTable = .fastest) -> Bool {
    table.rocaMembers.allSatisfy { group, r, inSubgroup in inSubgroup[Int(residues[group] % r)] }
  }

  static let rocaPrimes: [UInt] = [3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
                                   89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167]

  /// For each prime r, which residues mod r are powers of 65537.
  static let rocaSubgroups: [(UInt, [Bool])] = rocaPrimes.map { r in
    var member = [Bool](repeating: false, count: Int(r))
    var x: UInt = 1
    while !member[Int(x)] { member[Int(x)] = true; x = x * (65537 % r) % r }
    return (r, member)
  }

  static func primes(below limit: UInt64) -> [UInt64] {
    var sieve = [Bool](repeating: true, count: Int(limit))
    var out: [UInt64] = []
    for i in 2..<Int(limit) where sieve[i] {
      out.append(UInt64(i))
      var j = i * i
      while j < Int(limit) { sieve[j] = false; j += i }
    }
    return out
  }
}
