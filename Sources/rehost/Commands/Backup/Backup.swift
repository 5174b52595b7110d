import ArgumentParser

extension Rehost {
  struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Nightly backups: sealed archives in a repository, each seal naming the one before.",
      discussion: """
        A repository holds one sealed archive per run and chain.jsonl, the signed record of \
        every backup and prune (docs/BACKUP.md). `run` is the cron job; `verify-chain` is the \
        auditor's check, with no decryption key.
        """,
      subcommands: [Init.self, Run.self, List.self, VerifyChain.self, Prune.self, Copy.self, Restore.self])
  }
}
