import CGMP
@testable import RehostMath
import Testing

@Suite struct ModulusAnalysisTests {
  // Primes 1000003, 1000033, 1000037, 1000039, 1000081.
  @Test func smallFactorsAreFound() {
    #expect(ModulusAnalysis.smallFactor(modulusHex: "17FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD") == 3)  // 3 * (2^127 - 1)
    #expect(ModulusAnalysis.smallFactor(modulusHex: "E8D6CA6163") == nil)  // 1000003 * 1000033
    // Factors from the middle and the end of the prime groups: 7919, 9973 (the largest below 10,000).
    #expect(ModulusAnalysis.smallFactor(modulusHex: "F777FFFFFFFFFFFFFFFFFFFFFFFFFFFE111") == 7919)
    #expect(ModulusAnalysis.smallFactor(modulusHex: "137A7FFFFFFFFFFFFFFFFFFFFFFFFFFFD90B") == 9973)
  }

  /// Every prime below 10,000 is found as the factor of p·(2^127 - 1), and no other is
  /// reported for p·q with both primes above it.
  @Test func everySmallPrimeIsFound() {
    let mersenne = "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"  // 2^127 - 1, prime
    for p in ModulusAnalysis.smallPrimes {
      let n = GMPInteger(hex: mersenne)!
      rehost_mpz_mul_ui(n.raw, n.raw, UInt(p))
      #expect(ModulusAnalysis.smallFactor(modulusHex: n.hex) == p, "p = \(p)")
    }
    #expect(ModulusAnalysis.smallFactor(modulusHex: "26F5") == nil)  // 9973, itself prime: not "a factor"
    #expect(ModulusAnalysis.smallFactor(modulusHex: "5F8523F") == nil)  // 10007 * 10009
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
}
