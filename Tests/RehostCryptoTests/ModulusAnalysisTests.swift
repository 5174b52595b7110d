import RehostCrypto
import RehostMath
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

  @Test func closePrimesFallToFermat() {
    let factors = ModulusAnalysis.fermatFactors(modulusHex: "E8D6CA6163")
    #expect(factors.map { [$0.0, $0.1] } == ["0F4243", "0F4261"])  // 1000003, 1000033
    #expect(ModulusAnalysis.fermatFactors(modulusHex: "17FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD") == nil)
  }

  @Test func batchGCDFindsSharedPrimesOnly() {
    let moduli = ["E8D6CA6163", "E8D8D13245", "E8DBCC2A57"]  // p1*p2, p2*p3, p4*p5
    let shared = BatchGCD.sharedFactors(moduliHex: moduli)
    #expect(shared == [0: "0F4261", 1: "0F4261"])  // p2 = 1000033
    #expect(BatchGCD.sharedFactors(moduliHex: ["E8D6CA6163", "E8DBCC2A57"]).isEmpty)
  }
}
