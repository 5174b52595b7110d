import Foundation
import Testing

/// docs/vectors: every vector gives its expected verdict, from rehost and from the
/// independent implementation (contrib/python/rehost_format.py); whole ones restore,
/// and the restored tree passes `sha256sum -c` with the manifest's own list.
@Suite struct VectorTests {
  struct Vector {
    let name: String
    let open: [String]
    /// operation -> (exit code, phrase of the message)
    let expect: [(operation: String, code: Int32, words: String)]
  }

  static let directory = packageRoot + "/docs/vectors"

  static func vectors() throws -> [Vector] {
    try FileManager.default.contentsOfDirectory(atPath: directory).sorted().compactMap { name in
      guard let text = try? String(contentsOfFile: "\(directory)/\(name)/expect", encoding: .utf8) else { return nil }
      var open: [String] = []
      var expect: [(String, Int32, String)] = []
      for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let words = line.split(separator: " ", maxSplits: 2).map(String.init)
        if words[0] == "open" {
          open = line.dropFirst(5).split(separator: " ").map(String.init)
        } else if let code = Int32(words[1]) {
          expect.append((words[0], code, words.count > 2 ? words[2] : ""))
        }
      }
      return Vector(name: name, open: open, expect: expect)
    }
  }

  @Test func everyVectorHasItsVerdictFromRehostAndFromTheIndependentImplementation() throws {
    let vectors = try Self.vectors()
    #expect(vectors.count >= 40)
    let box = try Sandbox()
    for vector in vectors {
      let archive = "\(Self.directory)/\(vector.name)/archive.rehost"
      let trust = ["--trust", "keys/sealer.pub"]
      for (operation, code, words) in vector.expect {
        let target = box.path("restored-\(vector.name)")
        let arguments: [String]
        switch operation {
        case "verify": arguments = ["verify", archive] + trust
        case "deep": arguments = ["verify", archive] + trust + vector.open
        case "restore": arguments = ["restore", archive, "--to", target] + trust + vector.open
        default: Issue.record("\(vector.name): unknown operation \(operation)"); continue
        }
        let r = try run(rehostBinary, arguments, cwd: Self.directory)
        #expect(r.status == code, "\(vector.name) \(operation): \(r.output)")
        #expect(words.isEmpty || r.output.contains(words), "\(vector.name) \(operation): wanted '\(words)' in \(r.output)")
        if operation == "restore" {
          if code == 0 {
            let list = box.path("\(vector.name).sha256")
            let export = try run(rehostBinary, ["manifest", "export", archive, "--format", "sha256sum", "--out", list] + vector.open,
                                 cwd: Self.directory)
            #expect(export.status == 0, "\(vector.name): \(export.output)")
            #expect(try run("/usr/bin/sha256sum", ["--quiet", "-c", list], cwd: target).status == 0, "\(vector.name)")
          } else {
            #expect(!FileManager.default.fileExists(atPath: target), "\(vector.name): a refused restore left \(target)")
          }
        } else {
          let python = try run("/usr/bin/env", ["python3", packageRoot + "/contrib/python/rehost_format.py", "verify", archive]
                                 + trust + (operation == "deep" ? vector.open : []), cwd: Self.directory)
          #expect(python.status == code, "\(vector.name) \(operation), independent implementation: \(python.output)")
        }
      }
    }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: box.dir).filter { $0.hasPrefix(".") }
    #expect(leftovers.isEmpty, "\(leftovers)")
  }

  @Test func theGeneratorWritesTheSameBytesAgain() throws {
    let box = try Sandbox()
    try box.mustSh("""
      mkdir docs && cp -a '\(Self.directory)' docs/vectors && ln -s '\(packageRoot)/contrib' contrib
      python3 docs/vectors/generate.py >/dev/null && diff -r '\(Self.directory)' docs/vectors
      """)
  }
}
