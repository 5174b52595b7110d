"""Writes the seed corpus of each fuzz target (Tests/Fuzz/corpus/<target>/), from the
test vectors and contrib/python/rehost_format.py, deterministically.

    python3 Tests/Fuzz/make-corpus.py
"""
import glob
import hashlib
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "../..")
sys.path.insert(0, os.path.join(ROOT, "contrib/python"))
import rehost_format as rf  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402

corpus = os.path.join(HERE, "corpus")
shutil.rmtree(corpus, ignore_errors=True)


def seed(target, name, data):
    os.makedirs(f"{corpus}/{target}", exist_ok=True)
    with open(f"{corpus}/{target}/{name}", "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


vectors = os.path.join(ROOT, "docs/vectors")
for name in ["ok-tree", "ok-passphrase", "ok-custodians-2-of-3", "ok-unknown-stanza", "header-scrypt-log-n-62"]:
    data = open(f"{vectors}/{name}/archive.rehost", "rb").read()
    seed("header", name, data[: data.index(b"\nmac ") + 50] + b"payload")
for name in ["ok-tree", "ok-witnessed", "ok-escaped-source", "seal-duplicated-block", "seal-witness-key-altered"]:
    seed("seal", name, open(f"{vectors}/{name}/archive.rehost.seal", "rb").read())

# chunks: streams under the target's fixed key (32 bytes of 7), 4 KiB chunks.
aead = AESGCM(bytes([7]) * 32)
for n, length in [("one-chunk", 100), ("two-chunks", 5000), ("exact", 4096), ("empty", 0)]:
    plain = hashlib.sha256(n.encode()).digest() * (length // 32 + 1)
    plain = plain[:length]
    chunks = [plain[i:i + 4096] for i in range(0, len(plain), 4096)] or [b""]
    seed("chunks", n, b"".join(aead.encrypt(rf.nonce(i, i == len(chunks) - 1), c, None) for i, c in enumerate(chunks)))

# tar: plaintext streams with their manifests.
E = rf.Entry
trees = {
    "tree": [E(b"ca", "directory", 0o755), E(b"ca/a", "file", data=b"key\n"), E(b"ca/l", "symlink", 0o777, target=b"/etc"),
             E(b"ca/h", "hardlink", target=b"ca/a"), E(b"ca/d", "directory", 0o700), E(b"ca/d/f", "fifo"),
             E(b"ca/d/x", "file", data=b"x", xattrs=[(b"user.k", b"v")])],
    "database": [E(b".rehost/databases/web/database.sqlite", "file", 0o600, data=b"SQLite format 3\0"), E(b"ca", "directory", 0o755)],
    "names": [E(b"ca", "directory", 0o755), E(b"ca/bad\xff", "file", data=b"1"), E(b"ca/new\nline", "file", data=b"2")],
}
for name, entries in trees.items():
    out = bytearray()
    rf.write_tar(out.extend, entries, sources=[("ca", "/srv/ca")])
    seed("tar", name, bytes(out))

seed("manifest", "entry", '{"path":"ca/private/ca.key.pem","type":"file","size":2484,"mode":"0600","uid":0,"gid":0,"user":"root","group":"root","mtime":"1717200000.123456789","sha256":"' + "0" * 64 + '"}')
seed("manifest", "b64", '{"path_b64":"Y2EvYmFk//4=","type":"symlink","size":0,"mode":"0777","uid":1,"gid":2,"user":"","group":"","mtime":"-1.500000000","target_b64":"gC9h"}')
seed("manifest", "header", '{"format":"rehost-manifest/1","created":"2026-11-29T10:00:00Z","host":"ca1","label":"","tool":"rehost 0.1.0","sources":[{"name":"ca","path":"/srv/ca"}],"secrets":["ca/k"]}')
seed("manifest", "database", '{"database":{"name":"web","method":"pg_dump-custom","server":"PostgreSQL 15.18","source":"postgres:dbname=ca","tables":[{"name":"public.users","rows":5,"checksum":"md5sum64:-3"}],"files":["dump.000001.pgdump"],"bytes":12}}')
seed("manifest", "dbfile", ".rehost/databases/web/dump.000002.sql")

seed("policy", "policy", "# who signs\ntrust operator.pub as sealer, operator\ntrust auditor.pub as auditor person a\nrequire sealer\nrequire auditor 1\nrequire 2 people\n")
seed("inventory", "sample", open(os.path.join(ROOT, "manifests/sample-ca.yaml")).read())
seed("inventory", "host", open(os.path.join(ROOT, "manifests/ca-host.yaml")).read())

# share: a share file encrypted to the target's operator key (32 bytes of 9).
operator = X25519PrivateKey.from_private_bytes(bytes([9]) * 32)
eph = X25519PrivateKey.from_private_bytes(bytes([3]) * 32)
eph_raw = rf.raw_public(eph.public_key())
lines = ["rehost-share/1", "archive-header-sha256 " + "0" * 64, "share 2-of-3 1 " + "ab" * 32,
         f"recipient x25519 {rf.fingerprint(operator.public_key())} {rf.b64(eph_raw)}"]
aad = ("\n".join(lines) + "\n").encode()
wrap = rf.hkdf(eph.exchange(operator.public_key()), eph_raw + rf.raw_public(operator.public_key()), b"rehost/1 share file")
seed("share", "share", aad + rf.b64(AESGCM(wrap).encrypt(b"\0" * 12, bytes(32), aad)).encode() + b"\n")
print("wrote", sum(len(files) for _, _, files in os.walk(corpus)), "seeds into", corpus)
