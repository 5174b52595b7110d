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

  /// `moduliHex` must be distinct; `primesHex[i]` holds the checked p and q of modulus i.
  public static func find(moduliHex: [String], primesHex: [Int: [String]]) -> [Int: Share] {
    var shares: [Int: Share] = [:]
    func flag(_ index: Int, factor: String, partner: Int) {
      shares[index, default: Share(factorHex: factor, partners: [])].partners.append(partner)
    }

    // Private keys: a prime that two moduli hold (by its hex in one spelling: GMPInteger's).
    var owners: [String: [Int]] = [:]
    for (index, pair) in primesHex {
      for hex in Set(pair.compactMap(canonicalHex)) { owners[hex, default: []].append(index) }
    }
    for (prime, holders) in owners where holders.count > 1 {
      for a in holders { for b in holders where b != a { flag(a, factor: prime, partner: b) } }
    }

    // Public moduli: batch GCD among them and against M, the product of the known primes.
    let publicIndices = moduliHex.indices.filter { primesHex[$0] == nil }
    let publicModuli = publicIndices.compactMap { GMPInteger(hex: moduliHex[$0]) }
    guard publicModuli.count == publicIndices.count, !publicModuli.isEmpty else { return finished(shares) }
    let known = owners.keys.sorted().compactMap { GMPInteger(hex: $0) }
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
      let held = owners[common.hex] != nil ? [common.hex] : known.filter { n.remainder(by: $0).sign == 0 }.map(\.hex)
      for prime in held {
        for holder in owners[prime]! {
          flag(holder, factor: prime, partner: index)
          flag(index, factor: found[leaf]!, partner: holder)
        }
      }
    }
    return finished(shares)
  }

  /// `hex` as GMPInteger.hex spells it (upper case, whole bytes, no leading zero byte),
  /// without a round trip through GMP when it is spelt so already (BN_bn2hex's spelling);
  /// nil if it is not hex.
  static func canonicalHex(_ hex: String) -> String? {
    let isCanonical = hex.utf8.withContiguousStorageIfAvailable { digits in
      !digits.isEmpty && digits.count % 2 == 0 && !(digits[0] == 0x30 && digits[1] == 0x30)
        && digits.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x46) }
    }
    return isCanonical == true ? hex : GMPInteger(hex: hex)?.hex
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
