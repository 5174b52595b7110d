"""Regenerates docs/vectors/ (keys, and one directory per vector) with
contrib/python/rehost_format.py, deterministically: the same files every run.

    python3 docs/vectors/generate.py

Each vector directory holds `archive.rehost`, `archive.rehost.seal` and `expect`:

    # what the vector is
    open --identity keys/custodian.key      (how a deep verify or restore opens it)
    verify 0                                (rehost verify --trust keys/sealer.pub)
    deep 3 chunk 0                          (verify with the keys of `open`)
    restore 6 special                       (restore into an empty directory)

`CODE` is the exit code; the rest of a line, if any, is a phrase rehost's message holds.
"""
import hashlib
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../contrib/python"))
import rehost_format as rf  # noqa: E402
from rehost_format import Entry as E  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402


def seed(label):
    return hashlib.sha256(b"rehost test vectors: " + label.encode()).digest()


def identity(name):
    """A fixed identity written as rehost's NAME.key and NAME.pub."""
    ed = Ed25519PrivateKey.from_private_bytes(seed(name + " ed25519"))
    x = X25519PrivateKey.from_private_bytes(seed(name + " x25519"))
    comment = (f'# rehost identity "{name}" (a test vector key: never use it for anything real)\n'
               f"# signing key (Ed25519), fingerprint {rf.fingerprint(ed.public_key())}\n"
               f"# encryption key (X25519), fingerprint {rf.fingerprint(x.public_key())}\n\n")
    pem = lambda k: k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    pub = lambda k: k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with open(f"{HERE}/keys/{name}.key", "w") as f:
        f.write(comment + pem(ed) + pem(x))
    os.chmod(f"{HERE}/keys/{name}.key", 0o600)
    with open(f"{HERE}/keys/{name}.pub", "w") as f:
        f.write(comment + pub(ed) + pub(x))
    return ed, x


for name in os.listdir(HERE):
    if os.path.isdir(f"{HERE}/{name}"):
        shutil.rmtree(f"{HERE}/{name}")
os.makedirs(f"{HERE}/keys")
sealer, _ = identity("sealer")
witness, _ = identity("witness")
stranger, _ = identity("stranger")
custodian = identity("custodian")[1].public_key()
custodians = [identity(f"custodian-{c}")[1].public_key() for c in "abc"]
with open(f"{HERE}/keys/passphrase.txt", "w") as f:
    f.write("correct horse battery staple\n")

T = 1700000000


def noise(n, label=b"noise"):
    """n bytes that do not compress."""
    out, block = b"", label
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:n]


def header_length(a):
    return a.index(b"\nmac ") + 50
OPEN = "--identity keys/custodian.key"
HINT = "an archive written by rehost never holds such an entry"


def d(p, mode=0o755, **kw):
    return E(p if isinstance(p, bytes) else p.encode(), "directory", mode, mtime_s=T, user=b"root", group=b"root", **kw)


def f(p, data=b"", mode=0o644, **kw):
    kw.setdefault("user", b"root")
    kw.setdefault("group", b"root")
    return E(p if isinstance(p, bytes) else p.encode(), "file", mode, data=data, mtime_s=kw.pop("mtime_s", T), **kw)


def sym(p, target):
    return E(p.encode() if isinstance(p, str) else p, "symlink", 0o777, target=target.encode(), mtime_s=T, user=b"root", group=b"root")


def hard(p, target, **kw):
    return E(p.encode(), "hardlink", 0o644, target=target.encode(), mtime_s=T, user=b"root", group=b"root", **kw)


TREE = [
    d("ca"), f("ca/index.txt", b"V\t301231235959Z\t\t1000\tunknown\t/CN=www\n"), d("ca/private", 0o700),
    f("ca/private/ca.key.pem", b"-----BEGIN PRIVATE KEY-----\n(not a real key)\n-----END PRIVATE KEY-----\n", 0o600),
    f("ca/serial", b"1001\n", xattrs=[(b"user.rehost.note", b"bag 0042")]), sym("ca/root.pem", "private/ca.key.pem"),
    sym("ca/system-certs", "/etc/ssl/certs"), sym("ca/up", "../../outside"), hard("ca/serial.hardlink", "ca/serial"),
    E(b"ca/signer.fifo", "fifo", 0o600, mtime_s=T, user=b"root", group=b"root"), f("ca/empty"), d("ca/names"),
    f(b"ca/names/bad\xff\xfe", b"1"), f("ca/names/new\nline\ttab\\back\"quote", b"2"), f("ca/names/caf\u00e9", b"3"),
    f("ca/names/cafe\u0301", b"4"), f("ca/names/\u202eevil", b"5"), f("ca/names/old", b"6", mtime_s=-1, mtime_ns=500000000),
    f("ca/names/far-owner", b"7", uid=3000000, gid=3000001, user=b"", group=b""),
]


def vector(name, description, entries=TREE, expect=(("verify", 0), ("deep", 0), ("restore", 0)), open_with=OPEN,
           archive=None, seal=None, after_seal=None, written_tweak=None, facts=None, **kw):
    os.makedirs(f"{HERE}/{name}")
    kw.setdefault("recipients", [custodian])
    kw.setdefault("sources", [("ca", "/srv/ca")])
    kw.setdefault("rng", rf.Random(seed(name)))
    w = rf.write_archive(entries, **kw)
    if facts:
        w.facts.update(facts)
    data = w.archive
    if archive:
        data = archive(data)
        w.facts["Archive-SHA256"], w.facts["Archive-Size"] = rf.sha256hex(data), len(data)
    sealed = rf.seal_for(w, "archive.rehost", sealer, tweak=written_tweak)
    if seal:
        sealed = seal(sealed)
    if after_seal:
        data = after_seal(data)
    with open(f"{HERE}/{name}/archive.rehost", "wb") as fh:
        fh.write(data)
    with open(f"{HERE}/{name}/archive.rehost.seal", "wb") as fh:
        fh.write(sealed)
    lines = [f"# {description}", f"open {open_with}"]
    lines += [" ".join(str(x) for x in e) for e in expect]
    with open(f"{HERE}/{name}/expect", "w") as fh:
        fh.write("\n".join(lines) + "\n")


def witness_block(sealed, role="auditor", key=witness, extra=(("Bag", "BAG-0042"), ("Note", "sealed in Vienna"))):
    statement = sealed[: sealed.index(b"-----END REHOST SEAL STATEMENT-----\n") + 36]
    return rf.sign_block(statement, role, key, "2026-12-01T01:00:00Z", extra)


def replace(old, new, count=1):
    def edit(data):
        assert old in data, old
        return data.replace(old, new, count)
    return edit


# --- archives that are whole
vector("ok-tree", "every entry type, names as bytes (not UTF-8, newline, composed and decomposed, a bidi mark), "
       "symlinks leading out of the tree, a hard link, an xattr, a time before 1970, a large owner id")
vector("ok-passphrase", "a passphrase-only archive (scrypt, logN 10)", recipients=[], passphrase=b"correct horse battery staple",
       open_with="--passphrase-file keys/passphrase.txt")
vector("ok-custodians-2-of-3", "a key split 2-of-3 between custodians; two of them open it", recipients=[],
       custodians=(2, custodians), open_with="--identity keys/custodian-a.key --identity keys/custodian-c.key")
vector("ok-one-custodian-of-2-of-3", "one custodian of a 2-of-3 split alone cannot open it", recipients=[], custodians=(2, custodians),
       open_with="--identity keys/custodian-b.key", expect=(("verify", 0), ("deep", 5, "needs 2 of 3"), ("restore", 5, "needs 2 of 3")))
vector("ok-unknown-stanza", "a stanza of a type this version does not know is kept and skipped",
       extra_stanzas=[rf.Stanza("future-kem", ["arg1", "arg2"], b"\x01" * 40)])
vector("ok-small-chunks", "4 KiB chunks: many chunks, a short final one", chunk_size=4096,
       entries=[d("ca"), f("ca/random.bin", noise(20000))])
vector("ok-witnessed", "the sealer's signature and a witness's, with a bag serial and a note",
       seal=lambda s: s + witness_block(s))
vector("ok-database", "a database dump (.rehost/databases/web/) before the tree, and its record",
       entries=[E(b".rehost/databases/web/database.sqlite", "file", 0o600, data=b"SQLite format 3\x00" + b"\x00" * 84, mtime_s=T)] + TREE[:2],
       databases=['{"database":{"name":"web","method":"sqlite-backup","server":"SQLite 3.40.1","source":"sqlite:/srv/web.db",'
                  '"tables":[],"files":["database.sqlite"],"bytes":100}}'],
       written_tweak=lambda fields: fields[:-4] + [("Source", "sqlite:/srv/web.db")] + fields[-4:])
vector("ok-special-device", "a character device: valid (deep verify names it), restored only with --allow-special",
       entries=[d("ca"), E(b"ca/null", "chardev", 0o666, device=(1, 3), mtime_s=T, user=b"root", group=b"root")],
       expect=(("verify", 0), ("deep", 0, "special entry"), ("restore", 6, "special entry")))
vector("ok-escaped-source", "a source path with a newline, a tab and a trailing space, escaped in the seal",
       sources=[("new\nline\tand trailing ", "/srv/new\nline\tand trailing ")], entries=[d("new\nline\tand trailing "), f("new\nline\tand trailing /x", b"x")])

# --- the header
vector("header-bad-magic", "the first line is not rehost-archive/1", archive=replace(b"rehost-archive/1", b"tar-archive/1"),
       expect=(("verify", 3, "header is malformed"), ("deep", 3), ("restore", 3)))
vector("header-later-version", "rehost-archive/2: a later version", archive=replace(b"rehost-archive/1", b"rehost-archive/2"),
       expect=(("verify", 3, "cannot read"), ("deep", 3), ("restore", 3)))
def noncanonical_salt(a):
    """The payload salt's last significant base64 digit with an unused bit set: it
    decodes to the same bytes, but is not the canonical encoding."""
    at = a.index(b"payload-salt ") + 13 + 21
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return a[:at] + bytes([alphabet[alphabet.index(a[at]) ^ 1]]) + a[at + 1:]


vector("header-noncanonical-base64", "the payload salt in non-canonical base64 (an unused bit set)", archive=noncanonical_salt,
       expect=(("verify", 3, "invalid base64"), ("deep", 3), ("restore", 3)))
vector("header-mac-altered", "the payload salt changed: the header MAC no longer matches",
       archive=lambda a: a[: a.index(b"payload-salt ") + 13] + (b"B" if a[a.index(b"payload-salt ") + 13:][:1] != b"B" else b"C") + a[a.index(b"payload-salt ") + 14:],
       expect=(("verify", 0), ("deep", 3, "fails its authentication check"), ("restore", 3)))
vector("header-scrypt-log-n-62", "a scrypt stanza asking for N = 2^62", recipients=[custodian],
       extra_stanzas=[rf.Stanza("scrypt", [rf.b64(b"s" * 16), "62"], b"w" * 48)],
       expect=(("verify", 3, "(scrypt) is malformed"), ("deep", 3), ("restore", 3)))
vector("header-share-of-zero", "a share stanza claiming 1-of-0 (found by the header fuzz target: it crashed rehost)", recipients=[],
       extra_stanzas=[rf.Stanza("share", ["1-of-0", "1", "ab" * 32, rf.b64(b"e" * 32), rf.b64(b"c" * 32)], b"w" * 48),
                      rf.Stanza("x25519", [rf.fingerprint(custodian), rf.b64(b"e" * 32)], b"w" * 48)],
       expect=(("verify", 3, "(share) is malformed"), ("deep", 3), ("restore", 3)))
vector("header-shares-mixed-with-recipient", "custodian shares beside a recipient that could open the archive alone",
       custodians=(2, custodians), expect=(("verify", 3, "mixed"), ("deep", 3), ("restore", 3)))

# --- the payload
vector("payload-flipped-byte", "one byte of chunk 0 flipped", archive=lambda a: a[:-40] + bytes([a[-40] ^ 1]) + a[-39:],
       expect=(("verify", 0), ("deep", 3, "failed authentication"), ("restore", 3)))
vector("payload-cut-at-a-chunk-boundary", "the last chunk removed: no chunk carries the final flag", chunk_size=4096,
       entries=[d("ca"), f("ca/random.bin", noise(20000, b"cut"))],
       archive=lambda a: a[: len(a) - ((len(a) - header_length(a)) % 4112 or 4112)],
       expect=(("verify", 0), ("deep", 3, "truncated"), ("restore", 3)))
vector("payload-impossible-length", "a payload ending in a 5-byte fragment after its full chunks", chunk_size=4096,
       entries=[d("ca"), f("ca/random.bin", noise(20000, b"fragment"))],
       archive=lambda a: a[: header_length(a) + 4112 * ((len(a) - header_length(a)) // 4112) + 5],
       expect=(("verify", 3, "fragment"), ("deep", 3), ("restore", 3)))
vector("payload-two-zstd-frames", "a second (skippable) zstd frame after the first", after_frame=b"\x50\x2a\x4d\x18\x00\x00\x00\x00",
       expect=(("verify", 0), ("deep", 3, "zstd frame"), ("restore", 3)))
vector("payload-data-after-tar-end", "a block after the end-of-archive marker", tar_tail=b"\x00" * 511 + b"\x01",
       expect=(("verify", 0), ("deep", 3, "end-of-archive marker"), ("restore", 3)))

# --- the manifest
vector("manifest-entry-differs", "the manifest says ca/serial is 0600; the tar entry is 0644",
       manifest=lambda lines: [l.replace(b'"path":"ca/serial","type":"file","size":5,"mode":"0644"', b'"path":"ca/serial","type":"file","size":5,"mode":"0600"') for l in lines],
       expect=(("verify", 0), ("deep", 3, "ca/serial, differs from the manifest: mode"), ("restore", 3)))
vector("manifest-missing-entry", "the manifest (and so the seal) does not count the last entry", manifest=lambda lines: lines[:-1],
       expect=(("verify", 0), ("deep", 3, "more entries than its seal's Entries"), ("restore", 3)))
vector("manifest-extra-entry", "the manifest lists an entry the archive does not hold",
       manifest=lambda lines: lines + [b'{"path":"ca/ghost","type":"fifo","size":0,"mode":"0600","uid":0,"gid":0,"user":"","group":"","mtime":"0.000000000"}'],
       expect=(("verify", 0), ("deep", 3, "which the archive does not hold"), ("restore", 3)))
vector("manifest-not-canonical", "a manifest line with a space after a colon",
       manifest=lambda lines: [lines[0].replace(b'"type":"directory"', b'"type": "directory"')] + lines[1:],
       expect=(("verify", 0), ("deep", 3, "canonical"), ("restore", 3)))
vector("manifest-escaped-differently", "a control character escaped as \\u001F (upper case) instead of \\u001f",
       entries=[d("ca"), f("ca/a\x1fb", b"x")], manifest=lambda lines: [l.replace(b"\\u001f", b"\\u001F") for l in lines],
       expect=(("verify", 0), ("deep", 3, "differs from the manifest"), ("restore", 3)))

# --- entries that break the rules (sealed by a trusted key all the same)
vector("rule-hardlink-to-symlink", "a hard link to a symlink placed at another depth, then a file through it",
       entries=[d("ca"), d("ca/a"), sym("ca/a/up", "../.."), hard("ca/up", "ca/a/up"), f("ca/up/x", b"x")],
       expect=(("verify", 0), ("deep", 6, "does not name an earlier regular file"), ("restore", 6)))
vector("rule-file-through-symlink", "a file placed under a symlink", entries=[d("ca"), sym("ca/l", "/tmp"), f("ca/l/x", b"x")],
       expect=(("verify", 0), ("deep", 6, "does not come right after its directory"), ("restore", 6)))
vector("rule-duplicate-path", "a file, then a directory of the same name", entries=[d("ca"), f("ca/x", b"x"), d("ca/x")],
       expect=(("verify", 0), ("deep", 6, "twice"), ("restore", 6)))
vector("rule-hardlink-with-data", "a hard link that carries data", entries=[d("ca"), f("ca/a", b"good"), hard("ca/h", "ca/a", data=b"EVIL")],
       expect=(("verify", 0), ("deep", 6, "carries 4 bytes"), ("restore", 6)))
vector("rule-reserved-name", "an entry under .rehost/ that is not a database dump", entries=[f(".rehost/evil", b"x")],
       expect=(("verify", 0), ("deep", 6, "reserved"), ("restore", 6)))
vector("rule-dot-dot", "a name that climbs out with ..", entries=[d("ca"), f("ca/../escape", b"x")],
       expect=(("verify", 0), ("deep", 6, "'..'"), ("restore", 6)))
vector("rule-absolute", "an absolute name", entries=[f("/tmp/absolute", b"x")],
       expect=(("verify", 0), ("deep", 6, "absolute"), ("restore", 6)))
vector("rule-size-beyond-seal", "64 MiB of zeros where the seal says 10 bytes of content", entries=[d("ca"), f("ca/zeros", zeros=64 << 20)],
       facts={"Content-Bytes": 10}, expect=(("verify", 0), ("deep", 3, "more than is left of the seal's Content-Bytes"), ("restore", 3)))

# --- the seal
vector("seal-not-utf8", "the seal's bytes are not UTF-8 (the label's U+FFFD turned into FF)", label="sealed \ufffd",
       seal=replace(b"\xef\xbf\xbd", b"\xff"), expect=(("verify", 4, "not UTF-8"), ("deep", 4), ("restore", 4)))
vector("seal-statement-altered", "a digit of Entries changed", seal=lambda s: s.replace(b"\nEntries: ", b"\nEntries: 1"),
       expect=(("verify", 4, "different statement"), ("deep", 4), ("restore", 4)))
vector("seal-witness-key-altered", "a witness block's Key: changed to another key's fingerprint",
       seal=lambda s: s + witness_block(s).replace(rf.fingerprint(witness.public_key()).encode(), rf.fingerprint(stranger.public_key()).encode()),
       expect=(("verify", 4, "not its Public-Key"), ("deep", 4), ("restore", 4)))
vector("seal-duplicated-block", "the witness's block appended twice", seal=lambda s: s + witness_block(s) + witness_block(s),
       expect=(("verify", 4, "repeats signature 2"), ("deep", 4), ("restore", 4)))
vector("seal-reordered-blocks", "the witness's block before the sealer's",
       seal=lambda s: s[: s.index(b"-----BEGIN REHOST SIGNATURE-----")] + witness_block(s) + s[s.index(b"-----BEGIN REHOST SIGNATURE-----"):],
       expect=(("verify", 4, "sealer"), ("deep", 4), ("restore", 4)))
vector("seal-second-sealer", "a second block in the sealer's role (by the witness's key)", seal=lambda s: s + witness_block(s, role="sealer"),
       expect=(("verify", 4, "sealer"), ("deep", 4), ("restore", 4)))
vector("seal-untrusted", "sealed by a key the verifier does not trust",
       seal=lambda s: rf.statement([(k, rf.fingerprint(stranger.public_key()) if k == "Sealer" else v) for k, v in rf.parse_seal(s).statement])
       + rf.sign_block(rf.statement([(k, rf.fingerprint(stranger.public_key()) if k == "Sealer" else v) for k, v in rf.parse_seal(s).statement]),
                       "sealer", stranger, "2026-12-01T00:00:00Z"),
       expect=(("verify", 4, "no trusted key signed"), ("deep", 4), ("restore", 4)))
vector("seal-field-twice", "Archive-SHA256 twice (sed would read both)",
       seal=lambda s: s, written_tweak=lambda fields: fields[:3] + [fields[2]] + fields[3:],
       expect=(("verify", 4, "twice"), ("deep", 4), ("restore", 4)))
vector("seal-blank-line", "a blank line between the statement and the signature",
       seal=replace(b"-----END REHOST SEAL STATEMENT-----\n", b"-----END REHOST SEAL STATEMENT-----\n\n"),
       expect=(("verify", 4, "malformed"), ("deep", 4), ("restore", 4)))
vector("seal-crlf", "CRLF line endings", seal=lambda s: s.replace(b"\n", b"\r\n"),
       expect=(("verify", 4, "malformed"), ("deep", 4), ("restore", 4)))
vector("seal-host-disagrees", "a validly signed statement whose Host is not the manifest's",
       written_tweak=lambda fields: [(k, "ca2" if k == "Host" else v) for k, v in fields],
       expect=(("verify", 0), ("deep", 3, "disagree on Host"), ("restore", 3)))
vector("seal-archive-differs", "the archive was changed after it was sealed (its last byte)", after_seal=lambda a: a[:-1] + bytes([a[-1] ^ 1]),
       expect=(("verify", 3, "does not match its seal"), ("deep", 3), ("restore", 3)))
print(f"wrote {len([n for n in os.listdir(HERE) if os.path.isdir(f'{HERE}/{n}') and n != 'keys'])} vectors into {HERE}")
