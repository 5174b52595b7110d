#!/usr/bin/env python3
"""answer-prompts.py ANSWERS_JSON -- COMMAND...: run COMMAND on a pseudo-terminal and
answer its prompts in order. ANSWERS_JSON is a list of [prompt substring, answer].
Prints everything the command wrote and exits with its exit status. Standard library only."""
import json, os, pty, sys, time

answers = json.loads(sys.argv[1])
command = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)
seen, deadline = b"", time.time() + 60
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    if answers and answers[0][0].encode() in seen:
        os.write(fd, (answers.pop(0)[1] + "\n").encode())
        seen = b""
        sys.stdout.write("[answered]\n")
    sys.stdout.write(chunk.decode(errors="replace"))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
