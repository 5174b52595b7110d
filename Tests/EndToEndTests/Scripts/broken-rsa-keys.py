#!/usr/bin/env python3
"""broken-rsa-keys.py OUT_DIR: write broken RSA keys, each as a PKCS#8 private key, an SPKI
public key and an OpenSSH public key line, for `rehost check` tests. Standard library only
(DER written by hand); deterministic (fixed seed).
  shared-a, shared-b: two 1024-bit keys sharing one prime
  fermat: a 1024-bit key whose primes are adjacent primes
  tiny: a 256-bit key
  e1: a 1024-bit key with public exponent 1
  roca: a 1024-bit key whose primes have the ROCA structure k*M + (65537^a mod M)
  forged (private key only, PKCS#8 and PKCS#1): a 1024-bit key's modulus with another
    pair of primes, so that p*q is not n
  small: a 1024-bit key one of whose primes is 65521 (found by trial division up to 65537,
    as badkeys' smallfactors tries)
Private keys come as PKCS#8 (NAME.key.pem) and PKCS#1 (NAME.rsakey.pem)."""
import base64, os, random, sys

rng = random.Random(2008)

def is_prime(n):
    if n < 2: return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0: return n == p
    d, s = n - 1, 0
    while d % 2 == 0: d, s = d // 2, s + 1
    for _ in range(24):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1): continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1: break
        else:
            return False
    return True

def prime(bits):
    while True:
        c = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        if is_prime(c): return c

def next_prime(n):
    n += 2 if n % 2 else 1
    while not is_prime(n): n += 2
    return n

def der_len(n):
    if n < 128: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b

def der(tag, body): return bytes([tag]) + der_len(len(body)) + body
def integer(n):
    b = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    return der(0x02, (b"\0" + b) if b[0] & 0x80 else b)
def seq(*items): return der(0x30, b"".join(items))
RSA_ALG = seq(der(0x06, bytes.fromhex("2a864886f70d010101")), b"\x05\x00")

def pem(label, data):
    b = base64.b64encode(data).decode()
    return f"-----BEGIN {label}-----\n" + "\n".join(b[i:i + 64] for i in range(0, len(b), 64)) + f"\n-----END {label}-----\n"

def ssh_string(b): return len(b).to_bytes(4, "big") + b
def mpint(n):
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return ssh_string((b"\0" + b) if b and b[0] & 0x80 else b)

def write(out, name, p, q, e):
    n, phi = p * q, (p - 1) * (q - 1)
    d = pow(e, -1, phi) if e > 1 else 1
    pkcs1 = seq(integer(0), integer(n), integer(e), integer(d), integer(p), integer(q),
                integer(d % (p - 1)), integer(d % (q - 1)), integer(pow(q, -1, p)))
    with open(f"{out}/{name}.key.pem", "w") as f:
        f.write(pem("PRIVATE KEY", seq(integer(0), RSA_ALG, der(0x04, pkcs1))))
    with open(f"{out}/{name}.rsakey.pem", "w") as f:
        f.write(pem("RSA PRIVATE KEY", pkcs1))
    with open(f"{out}/{name}.pub.pem", "w") as f:
        f.write(pem("PUBLIC KEY", seq(RSA_ALG, der(0x03, b"\0" + seq(integer(n), integer(e))))))
    with open(f"{out}/{name}.ssh.pub", "w") as f:
        f.write("ssh-rsa " + base64.b64encode(ssh_string(b"ssh-rsa") + mpint(e) + mpint(n)).decode() + f" {name}\n")

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
shared = prime(512)
write(out, "shared-a", shared, prime(512), 65537)
write(out, "shared-b", shared, prime(512), 65537)
p = prime(512)
write(out, "fermat", p, next_prime(p), 65537)
write(out, "tiny", prime(128), prime(128), 65537)
write(out, "e1", prime(512), prime(512), 1)

def roca_prime(bits):
    M = 1
    for r in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
              89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167):
        M *= r
    while True:
        c = rng.getrandbits(bits - M.bit_length()) * M + pow(65537, rng.randrange(1, 1 << 20), M)
        if c.bit_length() == bits and is_prime(c): return c

write(out, "roca", roca_prime(512), roca_prime(512), 65537)

# A private key whose primes are not its modulus's: n of one pair, p and q of another.
p1, q1, p2, q2 = prime(512), prime(512), prime(512), prime(512)
n, e = p1 * q1, 65537
d = pow(e, -1, (p2 - 1) * (q2 - 1))
forged = seq(integer(0), integer(n), integer(e), integer(d), integer(p2), integer(q2),
             integer(d % (p2 - 1)), integer(d % (q2 - 1)), integer(pow(q2, -1, p2)))
with open(f"{out}/forged.key.pem", "w") as f:
    f.write(pem("PRIVATE KEY", seq(integer(0), RSA_ALG, der(0x04, forged))))
with open(f"{out}/forged.rsakey.pem", "w") as f:
    f.write(pem("RSA PRIVATE KEY", forged))

# A modulus with a small prime factor, above 10,000 and below badkeys' bound of 65537.
write(out, "small", 65521, prime(1008), 65537)
