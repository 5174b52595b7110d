import CGMP
import Dispatch
import Glibc

/// Primes shared between RSA moduli, found for all of them at once (batch GCD:
/// a product tree, then a remainder tree; Bernstein, as used by Heninger et al. in
/// "Mining your Ps and Qs"). GMP's subquadratic multiplication keeps it quasi-linear in
/// the number of keys; each level of both trees is spread over all cores.
///
/// The remainder tree is Bernstein's scaled one ("Scaled remainder trees", 2004): instead
/// of P mod v² at each node v (a division), it carries the fraction frac(P / v²) in fixed
/// point, and a child c with sibling s gets frac(frac(P / v²) · s²): one multiplication.
/// At a leaf n, round(frac(P / n²) · n²) = P mod n², and (P mod n²) / n shares a factor
/// with n exactly when another modulus does.
public enum BatchGCD {
  /// For each modulus (hex) that shares a prime with another in the list, the shared
  /// factor in hex (upper case). Moduli must be distinct.
  public static func sharedFactors(moduliHex: [String]) -> [Int: String] {
    let moduli = moduliHex.compactMap { GMPInteger(hex: $0) }
    guard moduli.count == moduliHex.count else { return [:] }
    return sharedFactors(moduli)
  }

  /// The product of `values`, by a product tree spread over all cores.
  static func product(_ values: [GMPInteger]) -> GMPInteger {
    var level = values
    while level.count > 1 {
      let below = level
      level = (0..<(below.count + 1) / 2).map { i in 2 * i + 1 < below.count ? GMPInteger() : below[2 * i] }
      let next = level
      parallel(next.count) { i in
        if 2 * i + 1 < below.count { next[i].mul(below[2 * i], below[2 * i + 1]) }
      }
    }
    return level.first ?? GMPInteger(1)
  }

  static func sharedFactors(_ moduli: [GMPInteger]) -> [Int: String] {
    guard moduli.count > 1 else { return [:] }

    // Product tree: tree[0] = moduli, each level the pairwise products of the one below
    // (an odd node out is carried up unchanged), up to the last level of two nodes: the
    // root, P itself, is never needed.
    var tree: [[GMPInteger]] = [moduli]
    while tree.last!.count > 2 {
      let below = tree.last!
      let level = (0..<(below.count + 1) / 2).map { i in 2 * i + 1 < below.count ? GMPInteger() : below[2 * i] }
      parallel(level.count) { i in
        if 2 * i + 1 < below.count { level[i].mul(below[2 * i], below[2 * i + 1]) }
      }
      tree.append(level)
    }

    // Scaled remainder tree. F/2^b approximates frac(P / v²) from below; the guard bits
    // absorb the truncation of each level (one unit each) with room to spare. For the
    // top pair L, R (P = L·R): frac(P / L²) = frac(R / L) = (R mod L) / L.
    let guardBits = 128
    let top = tree.last!
    var precision = top.map { 2 * $0.bitCount + guardBits }
    let topFractions = top.map { _ in GMPInteger() }, topPrecision = precision
    parallel(2) { i in
      let reduced = GMPInteger()
      reduced.mod(top[1 - i], top[i])
      reduced.mul(reduced, GMPInteger.power2(topPrecision[i]))
      topFractions[i].divFloor(reduced, top[i])
    }
    var fractions = topFractions

    for depth in stride(from: tree.count - 2, through: 0, by: -1) {
      let level = tree[depth], parents = fractions, parentPrecision = precision
      let next = level.map { _ in GMPInteger() }
      let nextPrecision = UnsafeMutableBufferPointer<Int>.allocate(capacity: level.count)
      defer { nextPrecision.deallocate() }
      let out = UnsafeSendable(nextPrecision)
      parallel(level.count) { i in
        let parent = i / 2, sibling = i ^ 1
        guard sibling < level.count else {
          // Carried up alone: the parent is this node.
          next[i].set(parents[parent])
          out.value[i] = parentPrecision[parent]
          return
        }
        let square = GMPInteger(), product = GMPInteger()
        square.mul(level[sibling], level[sibling])
        product.mul(parents[parent], square)
        product.lowBits(product, parentPrecision[parent])
        next[i].shiftRight(product, square.bitCount)
        out.value[i] = parentPrecision[parent] - square.bitCount
      }
      fractions = next
      precision = Array(nextPrecision)
    }

    // Leaves: P mod n² = round(F · n² / 2^b) mod n²; then ((P mod n²) / n, n).
    let found = moduli.map { _ in GMPInteger() }
    parallel(moduli.count) { i in
      let n = moduli[i], square = GMPInteger(), x = GMPInteger()
      square.mul(n, n)
      x.mul(fractions[i], square)
      x.add(x, GMPInteger.power2(precision[i] - 1))
      x.shiftRight(x, precision[i])
      x.mod(x, square)
      x.divExact(x, n)
      found[i].gcd(x, n)
    }
    var shared: [Int: String] = [:]
    for (i, gcd) in found.enumerated() where gcd.compare(1) > 0 { shared[i] = gcd.hex }
    return shared
  }

  /// Runs `body` for 0..<count on every core, in contiguous blocks.
  static func parallel(_ count: Int, _ body: @escaping (Int) -> Void) {
    let workers = min(count, ProcessInfo.activeProcessors)
    guard workers > 1 else { return (0..<count).forEach(body) }
    let task = UnsafeSendable(body)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      for i in stride(from: worker, to: count, by: workers) { task.value(i) }
    }
  }
}

/// Hands a value across the worker threads of ``BatchGCD/parallel(_:_:)``; each worker
/// touches only its own indices.
struct UnsafeSendable<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

enum ProcessInfo {
  static let activeProcessors = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}

