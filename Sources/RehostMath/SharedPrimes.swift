import Glibc

/// Which RSA moduli share a prime with another, and with which: batch GCD where only the
/// moduli are known, and a table of primes where private keys gave them.
///
/// A private key's p and q answer the question for its modulus without a batch GCD: two
/// such moduli share a prime exactly when the same prime appears in both (a table), and a
/// modulus known only from a public key shares one with them exactly when it has a common
/// factor with the product M of the known primes. So the batch GCD runs over the public
/// moduli plus M as one more leaf, and for a directory of private keys (and their
/// certificates, which carry the same moduli) it does not run at all.
///
/// The primes are taken as the key gives them, after p·q = n was checked. A generator's
/// bug makes real primes that repeat, which this finds; a forged key whose "p" is a
/// composite sharing a factor with another key's would slip past the table, but the forger
/// holds both keys' factors already, so the check has nothing to reveal there.
public enum SharedPrimes {
  /// A modulus that shares a prime: the factor it shares (upper-case hex) and the other
  /// moduli it shares one with (indices, sorted; empty when too many were flagged to pair
  /// them up).
  public struct Share: Equatable, Sendable {
    public var factorHex: String
    public var partners: [Int]
  }

  /// Past this many flagged public moduli, partners among them are not paired up (each pair
  /// costs a gcd); the findings still name the factor.
  public static let pairingLimit = 100

  /// `moduli` (minimal big-endian bytes) must be distinct; `primes[i]` holds the checked p
  /// and q of modulus i.
  public static func find(moduli: [[UInt8]], primes: [Int: [[UInt8]]]) -> [Int: Share] {
    var shares: [Int: Share] = [:]
    func flag(_ index: Int, factor: String, partner: Int) {
      shares[index, default: Share(factorHex: factor, partners: [])].partners.append(partner)
    }

    // Private keys: a prime that two moduli hold (by its bytes, leading zeros dropped).
    var owners: [Number: [Int]] = [:]
    for (index, pair) in primes {
      for prime in Set(pair.map(Number.init)) { owners[prime, default: []].append(index) }
    }
    for (prime, holders) in owners where holders.count > 1 {
      for a in holders { for b in holders where b != a { flag(a, factor: GMPInteger(bigEndian: prime.bytes).hex, partner: b) } }
    }

    // Public moduli: batch GCD among them and against M, the product of the known primes.
    let publicIndices = moduli.indices.filter { primes[$0] == nil && !moduli[$0].isEmpty }  // (empty: 0, no modulus)
    guard !publicIndices.isEmpty else { return finished(shares) }
    let publicModuli = publicIndices.map { GMPInteger(bigEndian: moduli[$0]) }
    let known = owners.keys.sorted().map { GMPInteger(bigEndian: $0.bytes) }
    let product = known.isEmpty ? nil : BatchGCD.product(known)
    let found = BatchGCD.sharedFactors(publicModuli + (product.map { [$0] } ?? []))
    let flaggedPublic = found.keys.filter { $0 < publicModuli.count }.sorted()
    let pairUp = flaggedPublic.count <= pairingLimit
    for (position, leaf) in flaggedPublic.enumerated() {
      let index = publicIndices[leaf], n = publicModuli[leaf]
      shares[index, default: Share(factorHex: found[leaf]!, partners: [])].factorHex = found[leaf]!
      if pairUp {
        for other in flaggedPublic[(position + 1)...] where !gcd(n, publicModuli[other]).isOne {
          flag(index, factor: found[leaf]!, partner: publicIndices[other])
          flag(publicIndices[other], factor: found[other]!, partner: index)
        }
      }
      // The known primes it holds: gcd(n, M) is 1, p, q or n itself.
      guard let product else { continue }
      let reduced = GMPInteger(), common = GMPInteger()
      reduced.mod(product, n)
      common.gcd(n, reduced)
      guard !common.isOne else { continue }
      let held = owners[Number(common.bigEndianBytes)] != nil ? [common] : known.filter { n.remainder(by: $0).sign == 0 }
      for prime in held {
        for holder in owners[Number(prime.bigEndianBytes)]! {
          flag(holder, factor: prime.hex, partner: index)
          flag(index, factor: found[leaf]!, partner: holder)
        }
      }
    }
    return finished(shares)
  }

  /// ``find(moduli:primes:)`` with the numbers in hex; moduli that are not hex are left out.
  public static func find(moduliHex: [String], primesHex: [Int: [String]]) -> [Int: Share] {
    let bytes = { (hex: String) in GMPInteger(hex: hex)?.bigEndianBytes }
    let moduli = moduliHex.map { bytes($0) ?? [] }
    var primes: [Int: [[UInt8]]] = [:]
    for (index, pair) in primesHex { primes[index] = pair.compactMap(bytes) }
    return find(moduli: moduli, primes: primes)
  }

  /// A number as minimal big-endian bytes, hashed and compared as bytes (an array hashes
  /// element by element, which made the table of primes cost more than the checks).
  public struct Number: Hashable, Comparable, Sendable {
    public let bytes: [UInt8]
    public init<Bytes: Collection<UInt8>>(_ bytes: Bytes) { self.bytes = Array(bytes.drop { $0 == 0 }) }
    public func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    /// Numeric order.
    public static func < (a: Number, b: Number) -> Bool {
      if a.bytes.count != b.bytes.count { return a.bytes.count < b.bytes.count }
      guard !a.bytes.isEmpty else { return false }
      return a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) < 0 } }
    }
  }

  static func finished(_ shares: [Int: Share]) -> [Int: Share] {
    shares.mapValues { Share(factorHex: $0.factorHex, partners: Array(Set($0.partners)).sorted()) }
  }

  static func gcd(_ a: GMPInteger, _ b: GMPInteger) -> GMPInteger {
    let g = GMPInteger()
    g.gcd(a, b)
    return g
  }
}

extension GMPInteger {
  var isOne: Bool { compare(1) == 0 }
  func remainder(by m: GMPInteger) -> GMPInteger {
    let r = GMPInteger()
    r.mod(self, m)
    return r
  }
}
