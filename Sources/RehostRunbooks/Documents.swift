import Foundation
import RehostBase

/// Markdown or HTML: the two forms of the paper script and of the report.
public enum DocumentFormat: String, Sendable, CaseIterable {
  case md, html
}

/// Builds a document once, in either format: headings, paragraphs, tables, boxes.
struct Document {
  let format: DocumentFormat
  let title: String
  private var body = ""

  init(format: DocumentFormat, title: String) {
    self.format = format
    self.title = title
  }

  static func html(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  /// Markdown: pipes and line breaks would break a table cell.
  static func cell(_ text: String) -> String {
    text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
  }

  mutating func heading(_ level: Int, _ text: String, id: String? = nil) {
    switch format {
    case .md: body += "\n" + String(repeating: "#", count: level) + " " + text + "\n\n"
    case .html: body += "<h\(level)\(id.map { " id=\"\(Self.html($0))\"" } ?? "")>\(Self.html(text))</h\(level)>\n"
    }
  }

  mutating func paragraph(_ text: String, style: String? = nil) {
    guard !text.isEmpty else { return }
    switch format {
    case .md: body += text + "\n\n"
    case .html: body += "<p\(style.map { " class=\"\($0)\"" } ?? "")>\(Self.html(text).replacingOccurrences(of: "\n", with: "<br>"))</p>\n"
    }
  }

  /// Text kept as it is (commands, outputs, statements).
  mutating func code(_ text: String) {
    switch format {
    case .md: body += "```\n" + text + "\n```\n\n"
    case .html: body += "<pre>\(Self.html(text))</pre>\n"
    }
  }

  mutating func table(_ header: [String], _ rows: [[String]], style: String? = nil) {
    guard !rows.isEmpty || style == "boxes" else { return }
    switch format {
    case .md:
      body += "| " + header.map(Self.cell).joined(separator: " | ") + " |\n|" + header.map { _ in " --- |" }.joined() + "\n"
      for row in rows { body += "| " + row.map(Self.cell).joined(separator: " | ") + " |\n" }
      body += "\n"
    case .html:
      body += "<table\(style.map { " class=\"\($0)\"" } ?? "")><tr>" + header.map { "<th>\(Self.html($0))</th>" }.joined() + "</tr>\n"
      for row in rows { body += "<tr>" + row.map { "<td>\(Self.html($0))</td>" }.joined() + "</tr>\n" }
      body += "</table>\n"
    }
  }

  mutating func beginSection(_ style: String) { if format == .html { body += "<section class=\"\(style)\">\n" } }
  mutating func endSection() { if format == .html { body += "</section>\n" } }

  var text: String {
    switch format {
    case .md: return "# " + title + "\n" + body
    case .html:
      return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(Self.html(title))</title>
        <style>
        @page { size: auto; margin: 16mm 14mm; }
        body { font: 10.5pt/1.4 "DejaVu Sans", Arial, sans-serif; color: #111; max-width: 190mm; margin: 0 auto; }
        h1 { font-size: 17pt; margin: 0 0 6pt; } h2 { font-size: 13.5pt; margin: 16pt 0 6pt; border-bottom: 1px solid #888; }
        h3 { font-size: 11.5pt; margin: 10pt 0 4pt; }
        section.step { break-inside: avoid; page-break-inside: avoid; border-left: 3px solid #bbb; padding-left: 8pt; margin: 8pt 0; }
        section.exception { border-left-color: #c60; } section.unfinished { border-left-color: #c00; }
        table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; break-inside: avoid; }
        th, td { border: 1px solid #999; padding: 3pt 5pt; text-align: left; vertical-align: top; font-size: 9.5pt; }
        th { background: #eee; } table.boxes td { height: 18pt; }
        td, th, p, h3 { overflow-wrap: break-word; }
        td:last-child, p.meta { overflow-wrap: anywhere; }  /* hashes and commands wrap within A4 and Letter */
        pre { font: 8.5pt/1.3 "DejaVu Sans Mono", monospace; white-space: pre-wrap; word-break: break-all; background: #f6f6f6; padding: 4pt; margin: 4pt 0; }
        p.meta { color: #444; font-size: 9.5pt; } p.verdict { font-weight: bold; }
        </style></head><body>
        <h1>\(Self.html(title))</h1>
        \(body)</body></html>

        """
    }
  }
}

/// `rehost runbook show`: the runbook as the paper script for the ceremony, numbered
/// steps with boxes for times, initials and values, so a run can also be followed, and
/// witnessed, on paper.
public enum PaperScript {
  public static func render(_ runbook: Runbook, format: DocumentFormat) -> String {
    var doc = Document(format: format, title: runbook.title)
    doc.paragraph("Runbook \(runbook.file), SHA-256 \(runbook.sha256). Policy: \(runbook.policy).", style: "meta")
    if !runbook.params.isEmpty {
      doc.table(["Param", "Default", "Used"], runbook.params.map { [$0.name, $0.defaultValue ?? "(none)", ""] }, style: "boxes")
    }
    var number = 0
    for (p, phase) in runbook.phases.enumerated() {
      doc.heading(2, "Phase \(p + 1): \(phase.title)")
      for step in phase.steps {
        number += 1
        doc.beginSection("step")
        doc.heading(3, "\(number). \(step.title)  [\(step.kindName), \(step.id)]")
        doc.paragraph(step.text)
        switch step.kind {
        case .instruction:
          doc.table(["Done at (time)", "By (initials)", "Notes"], [["", "", ""]], style: "boxes")
        case .command(let c), .check(let c):
          doc.code(c.run)
          var facts = ["expected exit status \(c.expect)"]
          if !c.captures.isEmpty { facts.append("records " + c.captures.map(\.name).joined(separator: ", ")) }
          if case .check = step.kind { facts.append("a failure stops the run until it passes or an exception is recorded") }
          if !c.idempotent { facts.append("not to be run twice without a decision") }
          if let t = c.timeout { facts.append("time limit \(Int(t)) s") }
          doc.paragraph(facts.joined(separator: "; ") + ".")
          doc.table(["Started", "Ended", "Exit status", "By (initials)"], [["", "", "", ""]], style: "boxes")
        case .record(let r):
          var facts = [r.prompt]
          if let pattern = r.pattern { facts.append("form: \(pattern)") }
          if let equals = r.equals { facts.append("must equal \(equals)") }
          doc.paragraph(facts.joined(separator: "; ") + ".")
          doc.table(["Value", "Time", "By (initials)"], [["", "", ""]], style: "boxes")
        case .witness(let w):
          doc.paragraph("\(w.people) \(w.people == 1 ? "person" : "distinct people") in the role\(w.roles.count == 1 ? "" : "s") \(w.roles.joined(separator: ", ")) sign off, each with their own key.")
          doc.table(["Role", "Name", "Key fingerprint (first 16)", "Time", "Signature"], (0..<w.people).map { _ in ["", "", "", "", ""] }, style: "boxes")
        }
        doc.endSection()
      }
    }
    return doc.text
  }
}
