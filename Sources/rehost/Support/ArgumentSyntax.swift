/// The command line is read twice: first for its syntax alone (every `validate()` that
/// checks what a command needs is off), so that a misspelt option (`--indentity`), a
/// stray argument or an option the command does not have is reported as such, with
/// argument-parser's "did you mean", rather than masked by "give --identity ..."; then
/// again with the requirements checked.
enum ArgumentSyntax {
  nonisolated(unsafe) static var requirementsChecked = true
}
