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
# runbook: the shipped runbooks, and the fuzz target's own (one step of each kind; the same
# text as journalRunbook in Sources/RehostFuzz/main.swift, which the journal seeds follow).
for name in ["datacenter-move", "restore-drill"]:
    seed("runbook", name, open(os.path.join(ROOT, f"runbooks/{name}.yaml")).read())
FUZZ_RUNBOOK = """runbook: 1
title: Fuzz
policy: fuzz.policy
phases:
  - title: All
    steps:
      - {id: announce, title: Announce, instruction: confirm}
      - {id: bag-sealed, title: Bag, record: Bag serial}
      - {id: pack, title: Pack, command: echo digest 42, capture: {digest: 'digest ([0-9]+)'}}
      - {id: seal-check, title: Check, check: "true"}
      - {id: sealing-witnessed, title: Witness, witness: {roles: [auditor], people: 1}}
      - {id: bag-opened, title: Bag again, record: Bag serial, equals: bag-sealed.value}
"""
seed("runbook", "fuzz", FUZZ_RUNBOOK)
# Found by the fuzzer: empty placeholders crashed the reference check.
seed("runbook", "empty-placeholders", FUZZ_RUNBOOK.replace("title: Announce,", "title: Announce, text: '${} ${.} ${a.} ${.b}',").replace("bag-sealed.value", "bag-sealed."))

# journal: runs of that runbook, signed by the target's operator (Ed25519, 32 bytes of 1)
# with the auditor (32 bytes of 2) as witness, written as docs/RUNBOOK.md says.
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
journal_operator = Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32)
journal_auditor = Ed25519PrivateKey.from_private_bytes(bytes([2]) * 32)
RUNBOOK_SHA = hashlib.sha256(FUZZ_RUNBOOK.encode()).hexdigest()


def journal_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "{" + ",".join(rf.json_string(k.encode()) + ":" + rf.json_string(x.encode()) for k, x in v) + "}"
    return rf.json_string(v.encode())


def journal(events):
    lines, prev, values = [], "", []
    for seq, (event, step, fields) in enumerate(events):
        if event == "witnessed":
            statement = "\n".join(["rehost-runbook-witness/1", "Runbook: " + RUNBOOK_SHA, "Step: " + step, "Journal-Head: " + prev,
                                   "Role: auditor", "Key: " + rf.fingerprint(journal_auditor.public_key()), "Time: 2026-12-01T10:00:00Z"]
                                  + [f"Value: {k} {rf.escape_value(v.encode())}" for k, v in values]) + "\n"
            fields = [("role", "auditor"), ("witness", rf.fingerprint(journal_auditor.public_key())),
                      ("witness_key", rf.b64(rf.der_public(journal_auditor.public_key()))), ("statement", rf.b64(statement.encode())),
                      ("witness_sig", rf.b64(journal_auditor.sign(statement.encode())))]
        if event == "value":
            values.append((step + ".value", dict(fields)["value"]))
        if event == "output":
            values += [(step + "." + k, v) for k, v in dict(fields)["values"]]
        text = f'{{"seq":{seq},"time":"2026-12-01T10:00:00Z","event":"{event}"' + (f',"step":"{step}"' if step else "")
        text += "".join("," + rf.json_string(k.encode()) + ":" + journal_value(v) for k, v in fields)
        pub = journal_operator.public_key()
        text += f',"actor":"{rf.fingerprint(pub)}","key":"{rf.b64(rf.der_public(pub))}","prev":"{prev}"}}'
        line = text[:-1] + f',"sig":"{rf.b64(journal_operator.sign(text.encode()))}"}}'
        lines.append(line + "\n")
        prev = hashlib.sha256(lines[-1].encode()).hexdigest()
    return "".join(lines)


run = [("begin", None, [("runbook", RUNBOOK_SHA), ("title", "Fuzz"), ("file", "fuzz.yaml"), ("policy", "fuzz.policy"),
                        ("policy_sha256", "0" * 64), ("workdir", "/srv"), ("as", "Op"), ("params", [])]),
       ("confirmed", "announce", []), ("finished", "announce", [("outcome", "done")]),
       ("value", "bag-sealed", [("value", "BAG-0042")]), ("finished", "bag-sealed", [("outcome", "done")]),
       ("started", "pack", [("command", "echo digest 42")]),
       ("output", "pack", [("status", 0), ("output", "output/5-pack.log"), ("output_sha256", "1" * 64), ("bytes", 10), ("values", [("digest", "42")])]),
       ("finished", "pack", [("outcome", "done")]),
       ("started", "seal-check", [("command", "true")]),
       ("output", "seal-check", [("status", 1), ("output", "output/8-seal-check.log"), ("output_sha256", "2" * 64), ("bytes", 0), ("values", [])]),
       ("exception", "seal-check", [("kind", "check-failed-accepted"), ("reason", "known \"false\" alarm\n")]),
       ("finished", "seal-check", [("outcome", "accepted")]),
       ("witnessed", "sealing-witnessed", []), ("finished", "sealing-witnessed", [("outcome", "done")]),
       ("value", "bag-opened", [("value", "BAG-0042"), ("matches", True)]), ("finished", "bag-opened", [("outcome", "done")]),
       ("end", None, [("steps", 6)])]
seed("journal", "complete", journal(run))
seed("journal", "stopped", journal(run[:6]))
seed("journal", "resumed", journal(run[:3] + [("resumed", None, [("as", "Op"), ("runbook", RUNBOOK_SHA)]),
                                              ("exception", None, [("kind", "partial-line-dropped"), ("bytes", 7), ("sha256", "3" * 64), ("reason", "cut")])]))
seed("journal", "mismatch", journal(run[:14] + [("value", "bag-opened", [("value", "BAG-0043"), ("matches", False)])]))

# backup-config, repository, chain (docs/BACKUP.md). The chains are signed by the journal's
# operator key, for the fuzz target's repository (id ab..., rehost-repo.json SHA-256 cd...).
seed("backup-config", "full", """backup: 1
repository: /var/backups/rehost
inventory: ca-host.yaml
root: /
sources: [/srv/ca, "web=sqlite:/srv/web/ca.sqlite"]
exclude: ["*.tmp"]
label: nightly backup of ca1
recipients: [alice.pub, bob.pub]
signing-key: host.key
signing-key-passphrase-file: host.pass
retention: {keep-last: 7, keep-daily: 14, keep-weekly: 8, keep-monthly: 12, keep-yearly: 2, keep-hourly: 3, keep-within: 1y2m3d4h}
metrics-file: rehost.prom
""")
seed("backup-config", "custodians", "backup: 1\nrepository: r\nsources: [s]\ncustodians: {threshold: 2, keys: [a.pub, b.pub, c.pub]}\nsigning-key: h.key\n")
seed("backup-config", "offsite", "backup: 1\nrepository: r\nsources: [s]\nrecipients: [a.pub]\nsigning-key: h.key\noffsite:\n  rclone-config: rclone.conf\n  remotes: [vault:rehost/ca1, \"s3:bucket/ca1\"]\n")
seed("repository", "repo", '{"format":"rehost-repository/1","id":"' + "ab" * 16 + '","created":"2026-12-01T00:00:00Z","signer":"'
     + rf.fingerprint(journal_operator.public_key()) + '","recipients":["x25519 ' + "0" * 64 + '"]}\n')
chain = [("init", None, [("repository", "ab" * 16), ("repository_sha256", "cd" * 32)])]
for n in (1, 2, 3):
    chain.append(("backup", None, [("sequence", n), ("archive", f"2026120{n}T030000Z-00000{n}.rehost"), ("archive_sha256", str(n) * 64),
                                   ("archive_size", 1000 + n), ("seal_sha256", chr(96 + n) * 64), ("created", f"2026-12-0{n}T03:00:00Z"),
                                   ("entries", 50), ("content_bytes", 40000)]))
chain.append(("prune", None, [("sequence", 1), ("archive", "20261201T030000Z-000001.rehost"), ("seal_sha256", "a" * 64), ("policy", "keep-last=2")]))
seed("chain", "three-and-a-prune", journal(chain))
seed("chain", "created", journal(chain[:1]))

# keys: what `rehost check` reads. The sample's PEM keys as they are, and each as DER in
# the four forms of the RSA fast path (RSAKeyDER.swift), plus an OpenSSH public key line.
from cryptography.hazmat.primitives import serialization as ser  # noqa: E402
for path in sorted(glob.glob(os.path.join(ROOT, "testdata/debian-weak-sample/rsa2048-*-pid00001-rnd.pem"))):
    name = os.path.basename(path)[:-4]
    pem = open(path, "rb").read()
    seed("keys", name + ".pem", pem)
    key = ser.load_pem_private_key(pem, password=None)
    seed("keys", name + "-pkcs1.der", key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption()))
    seed("keys", name + "-pkcs8.der", key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption()))
    seed("keys", name + "-spki.der", key.public_key().public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo))
    seed("keys", name + "-public-pkcs1.der", key.public_key().public_bytes(ser.Encoding.DER, ser.PublicFormat.PKCS1))
    seed("keys", name + ".pub", key.public_key().public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH) + b" host\n")

print("wrote", sum(len(files) for _, _, files in os.walk(corpus)), "seeds into", corpus)
