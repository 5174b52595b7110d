import COpenSSL

/// Checks of one RSA modulus that need no list: small factors, primes close enough for
/// Fermat's method, the ROCA fingerprint. (Primes shared between keys: RehostMath's
/// BatchGCD, on GMP.)
public enum ModulusAnalysis {
  /// The smallest prime factor of `n` below `limit`, if any.
  public static func smallFactor(modulusHex: String, limit: UInt64 = 10_000) -> UInt64? {
    guard let n = BigNum(hex: modulusHex) else { return nil }
    // One BIGNUM division per group of primes whose product fits a word, then word
    // arithmetic: about 4.5 times fewer divisions than one per prime.
    for group in limit == 10_000 ? smallPrimeGroups : primeGroups(primes(below: limit)) {
      let remainder = UInt64(BN_mod_word(n.raw, UInt(group.product)))
      for p in group.primes where remainder % p == 0 {
        return n.isWord(p) ? nil : p
      }
    }
    return nil
  }

  static let smallPrimeGroups = primeGroups(primes(below: 10_000))

  /// Consecutive primes grouped so that each group's product fits in 64 bits.
  static func primeGroups(_ primes: [UInt64]) -> [(product: UInt64, primes: [UInt64])] {
    var groups: [(UInt64, [UInt64])] = []
    var product: UInt64 = 1, members: [UInt64] = []
    for p in primes {
      let (next, overflow) = product.multipliedReportingOverflow(by: p)
      if overflow {
        groups.append((product, members))
        product = p
        members = [p]
      } else {
        product = next
        members.append(p)
      }
    }
    if !members.isEmpty { groups.append((product, members)) }
    return groups
  }

  /// Factors `n` by Fermat's method when its primes are so close that `rounds` steps from
  /// ceil(sqrt(n)) suffice. Returns the two factors in hex.
  public static func fermatFactors(modulusHex: String, rounds: Int = 100) -> (String, String)? {
    guard let n = BigNum(hex: modulusHex), let ctx = BN_CTX_new() else { return nil }
    defer { BN_CTX_free(ctx) }
    // a = ceil(sqrt(n))
    let a = n.squareRoot(ctx)
    let square = BigNum(), b2 = BigNum()
    BN_sqr(square.raw, a.raw, ctx)
    if BN_cmp(square.raw, n.raw) < 0 { BN_add_word(a.raw, 1) }
    for _ in 0..<rounds {
      BN_sqr(square.raw, a.raw, ctx)
      BN_sub(b2.raw, square.raw, n.raw)
      // Cheap filters first: a square is a quadratic residue mod 64, 63, 65 and 11.
      guard Self.mayBeSquare(b2) else {
        BN_add_word(a.raw, 1)
        continue
      }
      let b = b2.squareRoot(ctx)
      let check = BigNum()
      BN_sqr(check.raw, b.raw, ctx)
      if BN_cmp(check.raw, b2.raw) == 0 {
        let p = BigNum(), q = BigNum()
        BN_sub(p.raw, a.raw, b.raw)
        BN_add(q.raw, a.raw, b.raw)
        if BN_is_one(p.raw) == 1 { return nil }
        return (p.hex, q.hex)
      }
      BN_add_word(a.raw, 1)
    }
    return nil
  }

  /// The ROCA fingerprint (CVE-2017-15361, Infineon RSALib): such keys' primes are
  /// k·M + (65537^a mod M), so n mod r lies in the subgroup that 65537 generates mod r for
  /// every small prime r dividing M. Random moduli pass this for all 38 primes (3...167)
  /// with negligible probability. This follows the published detection method; it is
  /// tested with keys built with that structure, not with keys from an Infineon chip.
  public static func hasROCAFingerprint(modulusHex: String) -> Bool {
    guard let n = BigNum(hex: modulusHex) else { return false }
    return rocaSubgroups.allSatisfy { r, subgroup in subgroup.contains(UInt(BN_mod_word(n.raw, r))) }
  }

  static let rocaPrimes: [UInt] = [3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
                                   89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167]

  /// For each prime r, the powers of 65537 mod r.
  static let rocaSubgroups: [(UInt, Set<UInt>)] = rocaPrimes.map { r in
    var powers: Set<UInt> = [1]
    var x = 65537 % r
    while !powers.contains(x) { powers.insert(x); x = x * (65537 % r) % r }
    return (r, powers)
  }

  static let residues: [(UInt, Set<UInt>)] = [64, 63, 65, 11].map { m in (m, Set((0..<m).map { $0 * $0 % m })) }

  /// Squares are quadratic residues mod 64, 63, 65 and 11: one division by their product
  /// (2,882,880) answers all four.
  static func mayBeSquare(_ x: BigNum) -> Bool {
    let r = UInt(BN_mod_word(x.raw, 64 * 63 * 65 * 11))
    return residues.allSatisfy { m, squares in squares.contains(r % m) }
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

/// An owned OpenSSL BIGNUM.
final class BigNum {
  let raw: OpaquePointer

  init() { raw = BN_new() }

  init?(hex: String) {
    var pointer: OpaquePointer? = BN_new()
    guard hex.withCString({ BN_hex2bn(&pointer, $0) }) > 0, let pointer else { return nil }
    raw = pointer
  }

  deinit { BN_free(raw) }

  var hex: String {
    guard let text = BN_bn2hex(raw) else { return "" }
    defer { rehost_openssl_free(text) }
    return String(cString: text)
  }

  func isWord(_ w: UInt64) -> Bool { BN_is_word(raw, UInt(w)) == 1 }

  /// floor(sqrt(self)) by Newton's method.
  func squareRoot(_ ctx: OpaquePointer) -> BigNum {
    let x = BigNum()
    if BN_is_zero(raw) == 1 { return x }
    // Start above the root: 2^(ceil(bits/2)).
    BN_set_bit(x.raw, (BN_num_bits(raw) + 1) / 2)
    let y = BigNum(), quotient = BigNum()
    while true {
      BN_div(quotient.raw, nil, raw, x.raw, ctx)
      BN_add(y.raw, x.raw, quotient.raw)
      BN_rshift1(y.raw, y.raw)
      if BN_cmp(y.raw, x.raw) >= 0 { return x }
      BN_copy(x.raw, y.raw)
    }
  }
}
