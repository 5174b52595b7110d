import RehostCrypto
import RehostFormat
import Testing

@Suite struct GF256Tests {
  /// Reference multiplication: schoolbook carry-less product, then long division by 0x11b.
  static func referenceMultiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
    var product: UInt16 = 0
    for bit in 0..<8 where (b >> bit) & 1 == 1 { product ^= UInt16(a) << bit }
    for bit in stride(from: 15, through: 8, by: -1) where (product >> bit) & 1 == 1 { product ^= 0x11b << (bit - 8) }
    return UInt8(product)
  }

  @Test func multiplicationMatchesTheReferenceForAllPairs() {
    for a in 0...255 {
      for b in 0...255 {
        let (x, y) = (UInt8(a), UInt8(b))
        #expect(GF256.multiply(x, y) == Self.referenceMultiply(x, y))
      }
    }
    // A known product from FIPS 197 §4.2: {57} • {83} = {c1}.
    #expect(GF256.multiply(0x57, 0x83) == 0xc1)
  }

  @Test func everyNonZeroElementHasItsInverse() {
    #expect(GF256.inverse(0) == 0)
    for a in 1...255 {
      let x = UInt8(a)
      #expect(GF256.multiply(x, GF256.inverse(x)) == 1)
    }
  }

  @Test func fieldLawsHoldExhaustivelyOnASample() {
    for a in stride(from: 0, through: 255, by: 5) {
      for b in stride(from: 0, through: 255, by: 7) {
        for c in stride(from: 0, through: 255, by: 11) {
          let (x, y, z) = (UInt8(a), UInt8(b), UInt8(c))
          #expect(GF256.multiply(x, GF256.add(y, z)) == GF256.add(GF256.multiply(x, y), GF256.multiply(x, z)))
          #expect(GF256.multiply(GF256.multiply(x, y), z) == GF256.multiply(x, GF256.multiply(y, z)))
        }
      }
    }
  }
}

@Suite struct ShamirTests {
  static func subsets<T>(_ items: [T], size: Int) -> [[T]] {
    if size == 0 { return [[]] }
    guard items.count >= size else { return [] }
    let rest = Array(items.dropFirst())
    return subsets(rest, size: size - 1).map { [items[0]] + $0 } + subsets(rest, size: size)
  }

  /// Every k-subset (in every order for small n) recovers the secret; every (k-1)-subset does not.
  @Test(arguments: (1...7).flatMap { n in (1...n).map { k in (k, n) } })
  func everyKSubsetRecoversAndNoSmallerSubsetDoes(k: Int, n: Int) throws {
    let secret = try SecureRandom.bytes(32)
    let shares = try Shamir.split(secret, threshold: k, shares: n)
    #expect(shares.map(\.index) == (1...n).map(UInt8.init))
    for subset in Self.subsets(shares, size: k) {
      #expect(Shamir.combine(subset) == secret)
      #expect(Shamir.combine(subset.reversed()) == secret)
    }
    if k > 1 {
      for subset in Self.subsets(shares, size: k - 1) {
        #expect(Shamir.combine(subset) != secret)
      }
    }
  }

  @Test func aTamperedShareGivesAnotherSecret() throws {
    let secret = try SecureRandom.bytes(32)
    var shares = try Shamir.split(secret, threshold: 2, shares: 3)
    var value = shares[1].value
    value[0] ^= 1
    shares[1] = Shamir.Share(index: shares[1].index, value: value)
    #expect(Shamir.combine([shares[0], shares[1]]) != secret)
    #expect(Shamir.combine([shares[0], shares[2]]) == secret)
  }

  /// With k - 1 shares every secret stays possible: for k = 2, one share's byte takes
  /// each of the 256 values equally often over the random coefficient.
  @Test func oneShareOfTwoSaysNothingAboutTheSecret() throws {
    var seen = Set<UInt8>()
    for _ in 0..<6000 {
      let share = try Shamir.split([0x42], threshold: 2, shares: 2)[0]
      seen.insert(share.value[0])
    }
    #expect(seen.count == 256)
  }
}
