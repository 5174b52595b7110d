#!/usr/bin/env python3
"""forge_journal.py: what someone holding a key (trusted or not) can do to a runbook
journal without rehost, following docs/RUNBOOK.md. For the tests' hostile journals.

    forge_journal.py append KEY JOURNAL EVENT [STEP]   a new last line, chained and signed by KEY
    forge_journal.py resign KEY JOURNAL N OLD NEW      line N with OLD replaced by NEW, signed anew by KEY

KEY is a rehost identity (NAME.key): its first PEM block is the Ed25519 key.
"""
import base64
import hashlib
import re
import sys

from cryptography.hazmat.primitives import serialization


def signing_key(path):
    pem = open(path, "rb").read()
    first = pem[: pem.index(b"-----END PRIVATE KEY-----") + len(b"-----END PRIVATE KEY-----")] + b"\n"
    return serialization.load_pem_private_key(first, password=None)


def signed(key, unsigned_line):
    """unsigned_line ends in `"prev":"..."}`; returns it with its signature member."""
    sig = base64.b64encode(key.sign(unsigned_line.encode())).decode()
    return unsigned_line[:-1] + f',"sig":"{sig}"}}'


def strip_sig(line):
    return re.sub(r',"sig":"[A-Za-z0-9+/=]*"}$', "}", line)


def main():
    command, key_path, journal = sys.argv[1], sys.argv[2], sys.argv[3]
    key = signing_key(key_path)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    actor, key_b64 = hashlib.sha256(der).hexdigest(), base64.b64encode(der).decode()
    lines = open(journal, encoding="utf-8").read().split("\n")[:-1]
    if command == "append":
        event, step = sys.argv[4], (sys.argv[5] if len(sys.argv) > 5 else None)
        last = lines[-1]
        seq = int(re.match(r'{"seq":(\d+),', last).group(1)) + 1
        time = re.match(r'{"seq":\d+,"time":"([^"]*)"', last).group(1)
        prev = hashlib.sha256((last + "\n").encode()).hexdigest()
        body = f'{{"seq":{seq},"time":"{time}","event":"{event}"' + (f',"step":"{step}"' if step else "")
        lines.append(signed(key, body + f',"actor":"{actor}","key":"{key_b64}","prev":"{prev}"}}'))
    elif command == "resign":
        n, old, new = int(sys.argv[4]), sys.argv[5], sys.argv[6]
        line = strip_sig(lines[n - 1])
        if old not in line:
            sys.exit(f"line {n} has no {old!r}")
        line = line.replace(old, new, 1)
        line = re.sub(r',"actor":"[0-9a-f]*","key":"[A-Za-z0-9+/=]*",', f',"actor":"{actor}","key":"{key_b64}",', line)
        lines[n - 1] = signed(key, line)
    else:
        sys.exit(__doc__)
    open(journal, "w", encoding="utf-8").write("".join(line + "\n" for line in lines))


main()
