import CGMP
import Glibc

/// An owned GMP integer. Every operation is a method, so that the objects whose `mpz_t`
/// GMP reads or writes are arguments of the call and stay alive for all of it (a raw
/// pointer taken from a temporary would outlive the object).
final class GMPInteger: @unchecked Sendable {
  private let raw: UnsafeMutablePointer<__mpz_struct>

  init() {
    raw = .allocate(capacity: 1)
    rehost_mpz_init(raw)
  }

  convenience init(_ value: UInt) {
    self.init()
    rehost_mpz_set_ui(raw, value)
  }

  convenience init?(hex: String) {
    self.init()
    guard rehost_mpz_set_hex(raw, hex) == 0 else { return nil }
  }

  /// The unsigned big-endian number in `bytes`.
  convenience init(bigEndian bytes: [UInt8]) {
    self.init()
    // As native words, which mpz_import copies (byte by byte, it took a tenth of the modulus checks' time).
    let count = (bytes.count + 7) / 8
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: max(count, 1)) { words in
      let words = UnsafeMutableBufferPointer(rebasing: words[0..<count])
      bytes.withUnsafeBytes { SmallPrimeResidues.littleEndianWords($0, into: words) }
      words.withMemoryRebound(to: UInt.self) { rehost_mpz_set_words(raw, $0.baseAddress, count) }
    }
  }

  /// |self|, big-endian, without leading zero bytes (empty for 0).
  var bigEndianBytes: [UInt8] {
    [UInt8](unsafeUninitializedCapacity: (bitCount + 7) / 8) { buffer, count in
      count = rehost_mpz_get_bytes(raw, buffer.baseAddress)
    }
  }

  /// 2^bits.
  static func power2(_ bits: Int) -> GMPInteger {
    let x = GMPInteger(1)
    rehost_mpz_mul_2exp(x.raw, x.raw, UInt(bits))
    return x
  }

  deinit {
    rehost_mpz_clear(raw)
    raw.deallocate()
  }

  /// Upper-case hex, padded to whole bytes.
  var hex: String {
    guard let text = rehost_mpz_get_hex(raw) else { return "" }
    defer { free(text) }
    let s = String(cString: text)
    return s.count % 2 == 1 ? "0" + s : s
  }

  var bitCount: Int { rehost_mpz_bits(raw) }
  var sign: Int32 { rehost_mpz_sgn(raw) }
  var isPerfectSquare: Bool { rehost_mpz_perfect_square_p(raw) != 0 }
  func compare(_ value: UInt) -> Int32 { rehost_mpz_cmp_ui(raw, value) }
  func compare(_ other: GMPInteger) -> Int32 { rehost_mpz_cmp(raw, other.raw) }
  /// self mod d, for a word d.
  func remainder(_ d: UInt) -> UInt { rehost_mpz_fdiv_ui(raw, d) }
  /// |self| mod d, for a word d > 0: a third cheaper than `remainder`.
  func magnitudeRemainder(_ d: UInt) -> UInt { rehost_mpz_abs_mod_word(raw, d) }

  // self = ...
  func set(_ a: GMPInteger) { rehost_mpz_set(raw, a.raw) }
  func mul(_ a: GMPInteger, _ b: GMPInteger) { rehost_mpz_mul(raw, a.raw, b.raw) }
  func mul(_ a: GMPInteger, _ b: UInt) { rehost_mpz_mul_ui(raw, a.raw, b) }
  func add(_ a: GMPInteger, _ b: GMPInteger) { rehost_mpz_add(raw, a.raw, b.raw) }
  func add(_ a: GMPInteger, _ b: UInt) { rehost_mpz_add_ui(raw, a.raw, b) }
  func sub(_ a: GMPInteger, _ b: GMPInteger) { rehost_mpz_sub(raw, a.raw, b.raw) }
  /// a mod m (non-negative).
  func mod(_ a: GMPInteger, _ m: GMPInteger) { rehost_mpz_mod(raw, a.raw, m.raw) }
  /// floor(a / d).
  func divFloor(_ a: GMPInteger, _ d: GMPInteger) { rehost_mpz_fdiv_q(raw, a.raw, d.raw) }
  /// a / d, where d divides a.
  func divExact(_ a: GMPInteger, _ d: GMPInteger) { rehost_mpz_divexact(raw, a.raw, d.raw) }
  func gcd(_ a: GMPInteger, _ b: GMPInteger) { rehost_mpz_gcd(raw, a.raw, b.raw) }
  /// a mod 2^bits.
  func lowBits(_ a: GMPInteger, _ bits: Int) { rehost_mpz_tdiv_r_2exp(raw, a.raw, UInt(bits)) }
  /// floor(a / 2^bits).
  func shiftRight(_ a: GMPInteger, _ bits: Int) { rehost_mpz_tdiv_q_2exp(raw, a.raw, UInt(bits)) }
  /// floor(sqrt(a)), and a minus its square into `remainder`.
  func squareRoot(_ a: GMPInteger, remainder: GMPInteger) { rehost_mpz_sqrtrem(raw, remainder.raw, a.raw) }
  func squareRoot(_ a: GMPInteger) { rehost_mpz_sqrt(raw, a.raw) }
}
