#!/usr/bin/env python3
"""dsa-lists.py KEY.pem OUT_DIR: for a DSA key, the lists a Debian-weak DSA key would be in
(no genuine weak DSA key is at hand): OUT_DIR/openssh/blacklist.DSA-<bits> (MD5 of the
ssh-dss blob, last 20 hex digits), OUT_DIR/badkeys/blocklist.dat (SHA-256 of y), and
OUT_DIR/authorized_keys with the key as an ssh-dss line. Reads the key with the openssl CLI."""
import base64, hashlib, os, re, subprocess, sys

key, out = sys.argv[1], sys.argv[2]
text = subprocess.run(["openssl", "pkey", "-in", key, "-noout", "-text"], capture_output=True, text=True, check=True).stdout
numbers = {}
for name, body in re.findall(r"^(\w+):\s*\n((?:\s+[0-9a-f:]+\n)+)", text, re.M):
    numbers[name] = int(re.sub(r"[\s:]", "", body), 16)
p, q, g, y = numbers["P"], numbers["Q"], numbers["G"], numbers["pub"]

def string(b):
    return len(b).to_bytes(4, "big") + b

def mpint(n):
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return string(b"\0" + b if b and b[0] & 0x80 else b)

blob = string(b"ssh-dss") + mpint(p) + mpint(q) + mpint(g) + mpint(y)
os.makedirs(out + "/openssh", exist_ok=True)
os.makedirs(out + "/badkeys", exist_ok=True)
with open(f"{out}/openssh/blacklist.DSA-{p.bit_length()}", "w") as f:
    f.write(hashlib.md5(blob).hexdigest()[12:] + "\n")
with open(f"{out}/badkeys/blocklist.dat", "wb") as f:
    f.write(hashlib.sha256(y.to_bytes((y.bit_length() + 7) // 8, "big")).digest()[:15] + b"\x01")
with open(f"{out}/authorized_keys", "w") as f:
    f.write("ssh-dss " + base64.b64encode(blob).decode() + " weak@debian\n")
