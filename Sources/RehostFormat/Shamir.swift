import RehostBase
import RehostCrypto

/// Shamir's secret sharing over GF(2^8), byte by byte: the one algorithm rehost
/// implements itself (OpenSSL has none), so it is small, branch-free in the field
/// arithmetic, and tested exhaustively (Tests/RehostFormatTests/ShamirTests.swift).
///
/// Field: GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b). Share `i` is
/// the point (x = i, y = f(i)) of a random polynomial of degree k - 1 with f(0) = secret.
public enum Shamir {
  public struct Share: Equatable, Sendable {
    /// The x coordinate, 1...255.
    public let index: UInt8
    /// f(index), one byte per secret byte.
    public let value: [UInt8]

    public init(index: UInt8, value: [UInt8]) {
      self.index = index
      self.value = value
    }
  }

  /// Splits `secret` into `n` shares, any `k` of which recover it.
  public static func split(_ secret: [UInt8], threshold k: Int, shares n: Int) throws -> [Share] {
    precondition((1...255).contains(n) && (1...n).contains(k), "need 1 <= k <= n <= 255")
    // coefficients[j] holds the j-th coefficient for every secret byte; [0] is the secret.
    var coefficients = [secret]
    for _ in 1..<k { coefficients.append(try SecureRandom.bytes(secret.count)) }
    return (1...n).map { i in
      let x = UInt8(i)
      let value = secret.indices.map { b in
        // Horner's rule from the highest coefficient down.
        var y: UInt8 = 0
        for j in stride(from: k - 1, through: 0, by: -1) { y = GF256.add(GF256.multiply(y, x), coefficients[j][b]) }
        return y
      }
      return Share(index: x, value: value)
    }
  }

  /// Recovers the secret from exactly the shares given (Lagrange interpolation at 0).
  /// With fewer than the threshold it returns a wrong value: callers check the count,
  /// and the result against something the secret authenticates.
  public static func combine(_ shares: [Share]) -> [UInt8] {
    precondition(!shares.isEmpty && Set(shares.map(\.index)).count == shares.count && !shares.contains { $0.index == 0 },
                 "shares need distinct, non-zero indices")
    let length = shares[0].value.count
    precondition(shares.allSatisfy { $0.value.count == length })
    var secret = [UInt8](repeating: 0, count: length)
    for (i, share) in shares.enumerated() {
      // Lagrange basis at 0: product over j != i of x_j / (x_j - x_i); minus is plus here.
      var basis: UInt8 = 1
      for (j, other) in shares.enumerated() where j != i {
        basis = GF256.multiply(basis, GF256.divide(other.index, GF256.add(other.index, share.index)))
      }
      for b in 0..<length { secret[b] = GF256.add(secret[b], GF256.multiply(basis, share.value[b])) }
    }
    return secret
  }
}

/// Arithmetic in GF(2^8) modulo 0x11b, without branches or tables that depend on secrets.
public enum GF256 {
  @inline(__always) public static func add(_ a: UInt8, _ b: UInt8) -> UInt8 { a ^ b }

  /// Carry-less multiplication reduced modulo 0x11b; eight fixed rounds.
  public static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
    var a = a, b = b, product: UInt8 = 0
    for _ in 0..<8 {
      product ^= a & (0 &- (b & 1))          // add a when b's low bit is set
      let carry = 0 &- (a >> 7)               // 0xff when a's high bit is set
      a = (a << 1) ^ (0x1b & carry)
      b >>= 1
    }
    return product
  }

  /// a^254 = a^-1 for a != 0 (and 0 for 0), by a fixed square-and-multiply chain.
  public static func inverse(_ a: UInt8) -> UInt8 {
    var result: UInt8 = 1, base = a
    for bit in 0..<8 {
      let factor = (254 >> bit) & 1 == 1 ? base : 1  // the exponent is public and fixed
      result = multiply(result, factor)
      base = multiply(base, base)
    }
    return result
  }

  public static func divide(_ a: UInt8, _ b: UInt8) -> UInt8 {
    precondition(b != 0, "division by zero in GF(256)")
    return multiply(a, inverse(b))
  }
}
