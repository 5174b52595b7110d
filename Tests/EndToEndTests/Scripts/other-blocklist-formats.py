#!/usr/bin/env python3
"""other-blocklist-formats.py SAMPLE_DIR OUT_DIR: from the sample's genuine weak keys, build
the two other blocklist formats (openssh-blacklist and badkeys' blocklist.dat) and an
authorized_keys file holding every key, using only the openssl CLI and the standard library.
The sample's own lists are in the openssl-blacklist format."""
import base64, hashlib, os, subprocess, sys

sample, out = sys.argv[1], sys.argv[2]
os.makedirs(out + "/openssh", exist_ok=True)
os.makedirs(out + "/badkeys", exist_ok=True)

def string(b):
    return len(b).to_bytes(4, "big") + b

def mpint(n):
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return string(b"\0" + b if b and b[0] & 0x80 else b)

ssh_lists, records, authorized = {}, [], []
for name in sorted(os.listdir(sample)):
    if not name.endswith(".pem"):
        continue
    modulus = subprocess.run(["openssl", "rsa", "-in", os.path.join(sample, name), "-noout", "-modulus"],
                             capture_output=True, text=True, check=True).stdout.strip().split("=", 1)[1]
    n, e = int(modulus, 16), 65537  # the sample's keys all use e = 65537
    blob = string(b"ssh-rsa") + mpint(e) + mpint(n)
    ssh_lists.setdefault(n.bit_length(), []).append(hashlib.md5(blob).hexdigest()[12:])
    value = n.to_bytes((n.bit_length() + 7) // 8, "big")
    records.append(hashlib.sha256(value).digest()[:15] + b"\x01")
    authorized.append("ssh-rsa " + base64.b64encode(blob).decode() + " " + name)

for bits, entries in ssh_lists.items():
    with open(f"{out}/openssh/blacklist.RSA-{bits}", "w") as f:
        f.write("# openssh-blacklist format, built from the sample keys\n")
        f.write("".join(x + "\n" for x in sorted(entries)))
with open(f"{out}/badkeys/blocklist.dat", "wb") as f:
    f.write(b"".join(sorted(records)))
with open(f"{out}/authorized_keys", "w") as f:
    f.write('command="/bin/true" ' + authorized[0] + "\n" + "\n".join(authorized[1:]) + "\n")
print(len(authorized))
