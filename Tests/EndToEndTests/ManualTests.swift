import Foundation
import Testing

/// The man page and shell completions `make install` ships are generated from the
/// command definitions (scripts/make-manpage.py, argument-parser's completion scripts):
/// every command and option the binary has is in them.
@Suite struct ManualTests {
  @Test func theManPageAndCompletionsCoverEveryCommand() throws {
    let box = try Sandbox()
    let r = try box.sh("""
      set -e
      '\(rehostBinary)' --experimental-dump-help | python3 '\(packageRoot)/scripts/make-manpage.py' > rehost.1
      MANWIDTH=100 man --warnings -l rehost.1 > rendered.txt 2> warnings.txt
      '\(rehostBinary)' --generate-completion-script bash > rehost.bash
      bash -n rehost.bash
      '\(rehostBinary)' --generate-completion-script zsh > _rehost
      '\(rehostBinary)' --generate-completion-script fish > rehost.fish
      """)
    #expect(r.status == 0, "\(r.output)")
    let rendered = String(decoding: try box.read("rendered.txt"), as: UTF8.self)
    let warnings = String(decoding: try box.read("warnings.txt"), as: UTF8.self)
    #expect(warnings.isEmpty, "\(warnings)")
    for command in ["rehost keygen", "rehost snapshot", "rehost verify", "rehost restore", "rehost inspect", "rehost seal sign",
                    "rehost share export", "rehost manifest export", "rehost check", "rehost blocklist import", "rehost runbook run",
                    "rehost backup run", "rehost backup copy", "rehost backup restore"] {
      #expect(rendered.contains(command), "\(command) is not in the man page")
    }
    for option in ["--no-owners", "--servername", "--key-passphrase-fd", "--passphrase-fd", "--allow-special", "--rclone-config"] {
      #expect(rendered.contains(option), "\(option) is not in the man page")
    }
    let bash = String(decoding: try box.read("rehost.bash"), as: UTF8.self)
    #expect(bash.contains("--no-owners") && bash.contains("--servername"), "bash completion lacks options")
  }
}
