import Foundation

/// Counts the rows in a mysqldump-format stream's `INSERT INTO `t` VALUES (...),(...);`
/// statements, per table, as the bytes stream past (statements span buffers and lines).
///
/// Nearly every byte of a dump is inside a VALUES list, so that state skips ahead to the
/// next byte that matters (a parenthesis, a quote, a semicolon) in a tight loop, and a
/// string to its next quote or backslash; the rest is a byte-at-a-time state machine.
final class InsertRowCounter {
  /// Rows per table, including the statement now streaming.
  var rows: [String: Int64] {
    var all = counted
    if state == .values || state == .string || state == .stringEscape, currentRows > 0 { all[currentTable, default: 0] += currentRows }
    return all
  }

  private var counted: [String: Int64] = [:]
  private enum State { case lineStart, prefix, skipLine, tableName, afterName, values, string, stringEscape }
  private var state = State.lineStart
  private var pending: [UInt8] = []
  private var table: [UInt8] = []
  private var currentTable = ""
  private var currentRows: Int64 = 0
  private var depth = 0
  private static let insertPrefix = Array("INSERT INTO `".utf8)
  private static let valuesWord = Array(" VALUES".utf8)  // then a space or a newline
  /// The bytes that mean something inside a VALUES list: ( ) ' ;
  private static let special: [Bool] = (0..<256).map { [0x28, 0x29, 0x27, 0x3b].contains($0) }

  func consume(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
    let end = bytes.count
    var i = 0
    Self.special.withUnsafeBufferPointer { special in
      while i < end {
        switch state {
        case .values:
          while i < end, !special[Int(base[i])] { i += 1 }
          guard i < end else { return }
          values(base[i])
        case .string:
          while i < end, base[i] != 0x27, base[i] != 0x5c { i += 1 }
          guard i < end else { return }
          state = base[i] == 0x5c ? .stringEscape : .values
        case .skipLine:
          guard let newline = memchr(base + i, 0x0a, end - i) else { return }
          i = base.distance(to: newline.assumingMemoryBound(to: UInt8.self))
          state = .lineStart
        default:
          step(base[i])
        }
        i += 1
      }
    }
  }

  private func values(_ byte: UInt8) {
    switch byte {
    case 0x28 /* ( */:
      if depth == 0 { currentRows += 1 }
      depth += 1
    case 0x29 /* ) */: depth -= 1
    case 0x27 /* ' */: state = .string
    case 0x3b /* ; */ where depth == 0:  // tuples may sit on lines of their own
      counted[currentTable, default: 0] += currentRows
      currentRows = 0
      state = .skipLine
    default: break
    }
  }

  private func step(_ byte: UInt8) {
    switch state {
    case .lineStart, .prefix:
      pending.append(byte)
      if pending == InsertRowCounter.insertPrefix {
        pending = []; table = []; state = .tableName
      } else if InsertRowCounter.insertPrefix.starts(with: pending) {
        state = .prefix
      } else {
        pending = []
        state = byte == 0x0a ? .lineStart : .skipLine
      }
    case .tableName:
      if byte == 0x60 { state = .afterName; pending = [] } else { table.append(byte) }
    case .afterName:
      pending.append(byte)
      if pending == InsertRowCounter.valuesWord {
        state = .values; depth = 0; pending = []
        currentTable = String(decoding: table, as: UTF8.self)
        currentRows = 0
      } else if !InsertRowCounter.valuesWord.starts(with: pending) {
        pending = []; state = byte == 0x0a ? .lineStart : .skipLine
      }
    case .stringEscape:
      state = .string
    case .skipLine, .values, .string:
      preconditionFailure("handled in consume")
    }
  }
}
