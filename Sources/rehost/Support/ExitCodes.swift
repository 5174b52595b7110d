import RehostBase
import RehostStorage

/// The one place error kinds become exit codes. Documented in the README; scripts
/// and cron wrappers depend on them, so never renumber.
enum ExitCodes {
  static let success: Int32 = 0
  static let failure: Int32 = 1
  static let usage: Int32 = 2
  static let corrupt: Int32 = 3
  static let seal: Int32 = 4
  static let key: Int32 = 5
  static let refused: Int32 = 6
  static let policy: Int32 = 7
  static let busy: Int32 = 8
  static let offsite: Int32 = 9

  static func code(for kind: RehostError.Kind) -> Int32 {
    switch kind {
    case .failure: failure
    case .usage: usage
    case .corrupt: corrupt
    case .seal: seal
    case .key: key
    case .refused: refused
    case .policy: policy
    case .busy: busy
    case .offsite: offsite
    // 128 + the signal number, as a shell reports a process the signal killed.
    case .interrupted: 128 + Interruption.shared.signalNumber
    }
  }
}
