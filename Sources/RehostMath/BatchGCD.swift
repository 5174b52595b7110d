import CGMP
import Glibc

/// Primes shared between RSA moduli, found for all of them at once (batch GCD:
/// a product tree, then a remainder tree; Bernstein, as used by Heninger et al. in
/// "Mining your Ps and Qs"). GMP's subquadratic multiplication and division keep it
/// quasi-linear in the number of keys.
public enum BatchGCD {
  /// For each modulus (hex) that shares a prime with another in the list, the shared
  /// factor in hex (upper case). Moduli must be distinct.
  public static func sharedFactors(moduliHex: [String]) -> [Int: String] {
    let moduli = moduliHex.compactMap { GMPInteger(hex: $0) }
    guard moduli.count == moduliHex.count, moduli.count > 1 else { return [:] }
    var tree: [[GMPInteger]] = [moduli]
    while tree.last!.count > 1 {
      let level = tree.last!
      tree.append(stride(from: 0, to: level.count, by: 2).map { i in
        guard i + 1 < level.count else { return level[i] }
        let product = GMPInteger()
        rehost_mpz_mul(product.raw, level[i].raw, level[i + 1].raw)
        return product
      })
    }
    // The whole product modulo each node's square, from the top down.
    var remainders = tree.last!
    for level in tree.dropLast().reversed() {
      remainders = level.enumerated().map { i, node in
        let square = GMPInteger(), remainder = GMPInteger()
        rehost_mpz_mul(square.raw, node.raw, node.raw)
        rehost_mpz_mod(remainder.raw, remainders[i / 2].raw, square.raw)
        return remainder
      }
    }
    var shared: [Int: String] = [:]
    for (i, n) in moduli.enumerated() {
      // (product mod n²) / n shares a factor with n only if another modulus does.
      let quotient = GMPInteger(), gcd = GMPInteger()
      rehost_mpz_divexact(quotient.raw, remainders[i].raw, n.raw)
      rehost_mpz_gcd(gcd.raw, quotient.raw, n.raw)
      if rehost_mpz_is_one(gcd.raw) == 0 { shared[i] = gcd.hex }
    }
    return shared
  }
}

/// An owned GMP integer.
final class GMPInteger: @unchecked Sendable {
  let raw: UnsafeMutablePointer<__mpz_struct>

  init() {
    raw = .allocate(capacity: 1)
    rehost_mpz_init(raw)
  }

  convenience init?(hex: String) {
    self.init()
    guard rehost_mpz_set_hex(raw, hex) == 0 else { return nil }
  }

  deinit {
    rehost_mpz_clear(raw)
    raw.deallocate()
  }

  var hex: String {
    guard let text = rehost_mpz_get_hex(raw) else { return "" }
    defer { free(text) }
    let s = String(cString: text)
    return s.count % 2 == 1 ? "0" + s : s
  }
}
