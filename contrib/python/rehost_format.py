"""An independent implementation of rehost's file formats (docs/FORMAT.md), in Python.

Written from docs/FORMAT.md alone, not from rehost's Swift code, so that the two keep
each other honest: the test suite makes archives and seals with each and reads them with
the other, and both must give the same verdict on every vector in docs/vectors/.

It reads (verifies, lists, extracts in memory) and writes archives, seals and share
files. It needs Python 3.9+, `cryptography` and `zstandard` (pip). As a command:

    python3 rehost_format.py verify ARCHIVE --trust SIGNER.pub [--identity KEY] [--passphrase-file F]
    python3 rehost_format.py list ARCHIVE --identity KEY

Its exit codes are rehost's: 3 corrupt, 4 seal, 5 key, 6 refused (unsafe entry).

The writer takes plain entries and writes them as told, even when they break the rules
(duplicates, '..', hard links with data, lying sizes): that is what the tests use to
build hostile archives that are correctly encrypted and sealed.
"""

import base64
import hashlib
import hmac
import io
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Tuple

import zstandard
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Exit codes, as rehost's README documents them.
CORRUPT, SEAL, KEY, REFUSED, POLICY = 3, 4, 5, 6, 7


class FormatError(Exception):
    """A verdict: `code` is the rehost exit code it corresponds to."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text, what="base64"):
    """Canonical base64 only (it must re-encode to the same text)."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    try:
        data = base64.b64decode(text, validate=True)
    except Exception:
        raise FormatError(CORRUPT, f"invalid {what}")
    if b64(data) != text:
        raise FormatError(CORRUPT, f"non-canonical {what}")
    return data


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, info).derive(ikm)


def sha256hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- keys

def raw_public(key) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def der_public(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(public_key) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, hex."""
    return sha256hex(der_public(public_key))


PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----\n.*?-----END \1-----\n?", re.S)


@dataclass
class Identity:
    signing: Optional[Ed25519PrivateKey]
    encryption: Optional[X25519PrivateKey]


@dataclass
class PublicIdentity:
    signing: Optional[Ed25519PublicKey]
    encryption: Optional[X25519PublicKey]


def load_identity(path: str, passphrase: Optional[bytes] = None) -> Identity:
    data = open(path, "rb").read()
    keys = [serialization.load_pem_private_key(m.group(0), passphrase) for m in PEM_BLOCK.finditer(data)]
    return Identity(next((k for k in keys if isinstance(k, Ed25519PrivateKey)), None),
                    next((k for k in keys if isinstance(k, X25519PrivateKey)), None))


def load_public(path: str) -> PublicIdentity:
    data = open(path, "rb").read()
    keys = [serialization.load_pem_public_key(m.group(0)) for m in PEM_BLOCK.finditer(data)]
    return PublicIdentity(next((k for k in keys if isinstance(k, Ed25519PublicKey)), None),
                          next((k for k in keys if isinstance(k, X25519PublicKey)), None))


def read_passphrase(path: str) -> bytes:
    """The first line, without its LF and a CR before it; must not be empty."""
    data = open(path, "rb").read()
    line = data.split(b"\n", 1)[0]
    if line.endswith(b"\r"):
        line = line[:-1]
    if not line:
        raise FormatError(2, "empty passphrase file")
    return line


# --------------------------------------------------------------------------- header

MAGIC = b"rehost-archive/1"
CHUNK_SIZES = [1 << n for n in range(12, 25)]
HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Stanza:
    type: str
    args: List[str]
    body: bytes

    @property
    def line(self) -> bytes:
        return " ".join(["recipient", self.type] + self.args).encode()

    def seal_description(self) -> str:
        if self.type == "x25519":
            return "x25519 " + self.args[0]
        if self.type == "scrypt":
            return "scrypt passphrase"
        if self.type == "share":
            return f"share {self.args[0]} x25519 {self.args[2]}"
        return self.type


@dataclass
class Header:
    stanzas: List[Stanza]
    chunk_size: int
    payload_salt: bytes
    mac: bytes
    raw: bytes

    def covered(self) -> bytes:
        return self.raw[: self.raw.rindex(b"\nmac ") + 1]


def encode_header(stanzas, chunk_size, salt, mac=None) -> bytes:
    out = MAGIC + b"\n"
    for s in stanzas:
        out += s.line + b"\n" + b64(s.body).encode() + b"\n"
    out += b"chunk-size %d\n" % chunk_size
    out += b"payload-salt " + b64(salt).encode() + b"\n"
    if mac is not None:
        out += b"mac " + b64(mac).encode() + b"\n"
    return out


def parse_header(f) -> Header:
    raw = b""

    def line() -> bytes:
        nonlocal raw
        data = b""
        while True:
            c = f.read(1)
            if not c:
                raise FormatError(CORRUPT, "the file ends inside the header")
            raw += c
            if c == b"\n":
                break
            data += c
            if len(data) > 4096 or len(raw) > 256 * 1024:
                raise FormatError(CORRUPT, "header line too long")
        if any(b < 0x20 or b >= 0x7F for b in data):
            raise FormatError(CORRUPT, "header is not printable ASCII")
        return data

    if line() != MAGIC:
        raise FormatError(CORRUPT, "not rehost-archive/1")
    stanzas = []
    l = line()
    while l.startswith(b"recipient "):
        words = l.decode().split(" ")
        if len(words) < 2 or any(not w for w in words):
            raise FormatError(CORRUPT, "bad recipient line")
        stanzas.append(Stanza(words[1], words[2:], unb64(line())))
        if len(stanzas) > 1024:
            raise FormatError(CORRUPT, "too many recipients")
        l = line()
    if not stanzas:
        raise FormatError(CORRUPT, "no recipients")
    m = re.fullmatch(rb"chunk-size ([0-9]+)", l)
    if not m or int(m.group(1)) not in CHUNK_SIZES:
        raise FormatError(CORRUPT, "bad chunk-size")
    chunk = int(m.group(1))
    l = line()
    if not l.startswith(b"payload-salt "):
        raise FormatError(CORRUPT, "expected payload-salt")
    salt = unb64(l[len(b"payload-salt "):])
    l = line()
    if not l.startswith(b"mac "):
        raise FormatError(CORRUPT, "expected mac")
    mac = unb64(l[4:])
    if len(salt) != 16 or len(mac) != 32:
        raise FormatError(CORRUPT, "bad salt or mac length")
    if encode_header(stanzas, chunk, salt, mac) != raw:
        raise FormatError(CORRUPT, "header not canonical")
    check_stanzas(stanzas)
    return Header(stanzas, chunk, salt, mac, raw)


def check_stanzas(stanzas):
    def b64len(text, n):
        try:
            return len(unb64(text)) == n
        except FormatError:
            return False

    shares = []
    for s in stanzas:
        if not re.fullmatch(r"[a-z0-9-]+", s.type):
            raise FormatError(CORRUPT, "bad stanza type")
        if s.type == "x25519":
            ok = len(s.args) == 2 and HEX64.match(s.args[0]) and b64len(s.args[1], 32) and len(s.body) == 48
        elif s.type == "scrypt":
            ok = (len(s.args) == 2 and b64len(s.args[0], 16) and re.fullmatch(r"[1-9][0-9]*", s.args[1])
                  and 10 <= int(s.args[1]) <= 20 and len(s.body) == 48)
        elif s.type == "share":
            kn = re.fullmatch(r"([1-9][0-9]*)-of-([1-9][0-9]*)", s.args[0]) if s.args else None
            ok = (len(s.args) == 5 and kn and 1 <= int(kn.group(1)) <= int(kn.group(2)) <= 255
                  and re.fullmatch(r"[1-9][0-9]*", s.args[1]) and 1 <= int(s.args[1]) <= int(kn.group(2))
                  and HEX64.match(s.args[2]) and b64len(s.args[3], 32) and b64len(s.args[4], 32) and len(s.body) == 48)
            if ok:
                shares.append((s.args[0], int(s.args[1])))
        else:
            continue
        if not ok:
            raise FormatError(CORRUPT, f"malformed {s.type} stanza")
    if shares:
        kn = shares[0][0]
        if any(k != kn for k, _ in shares) or len({i for _, i in shares}) != len(shares) or len(shares) != int(kn.split("-of-")[1]):
            raise FormatError(CORRUPT, "custodian shares are not one complete group")
        if any(s.type in ("x25519", "scrypt") for s in stanzas):
            raise FormatError(CORRUPT, "custodian shares mixed with other recipients")


def header_mac(header_bytes: bytes, data_key: bytes) -> bytes:
    return hmac.new(hkdf(data_key, b"", b"rehost/1 header mac"), header_bytes, hashlib.sha256).digest()


def unwrap_x25519(stanza: Stanza, key: X25519PrivateKey, info=b"rehost/1 x25519 key wrap") -> Optional[bytes]:
    ephemeral = unb64(stanza.args[1] if stanza.type == "x25519" else stanza.args[3])
    secret = key.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    if secret == b"\0" * 32:
        raise FormatError(CORRUPT, "low-order ephemeral key")
    wrap = hkdf(secret, ephemeral + raw_public(key.public_key()), info)
    try:
        return AESGCM(wrap).decrypt(b"\0" * 12, stanza.body, stanza.line)
    except InvalidTag:
        return None


def share_commitment(ephemeral: bytes, index: int, value: bytes) -> bytes:
    return hashlib.sha256(b"rehost/1 share commitment" + ephemeral + bytes([index]) + value).digest()


def gf_mul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return r


def gf_inv(a: int) -> int:
    r = 1
    for _ in range(254):  # a^254 = a^-1 in GF(2^8)
        r = gf_mul(r, a)
    return r


def shamir_combine(shares: List[Tuple[int, bytes]]) -> bytes:
    out = bytearray(32)
    for i, (xi, yi) in enumerate(shares):
        num, den = 1, 1
        for j, (xj, _) in enumerate(shares):
            if i != j:
                num = gf_mul(num, xj)
                den = gf_mul(den, xi ^ xj)
        basis = gf_mul(num, gf_inv(den))
        for k in range(32):
            out[k] ^= gf_mul(yi[k], basis)
    return bytes(out)


def open_header(header: Header, identities: List[Identity], passphrase: Optional[bytes] = None) -> bytes:
    """The payload key, from the first stanza a key or the passphrase opens, or from
    enough custodians' shares; the header MAC is checked."""
    data_key = None
    shares = {}
    for s in header.stanzas:
        if s.type == "x25519":
            for ident in identities:
                if ident.encryption and fingerprint(ident.encryption.public_key()) == s.args[0]:
                    data_key = unwrap_x25519(s, ident.encryption)
                    if data_key is None:
                        raise FormatError(CORRUPT, "x25519 stanza does not authenticate")
        elif s.type == "scrypt" and passphrase is not None:
            salt, log_n = unb64(s.args[0]), int(s.args[1])
            wrap = hashlib.scrypt(passphrase, salt=b"rehost/1 scrypt" + salt, n=1 << log_n, r=8, p=1,
                                  maxmem=256 * 8 * (1 << log_n), dklen=32)
            try:
                data_key = AESGCM(wrap).decrypt(b"\0" * 12, s.body, s.line)
            except InvalidTag:
                pass
        elif s.type == "share":
            for ident in identities:
                if ident.encryption and fingerprint(ident.encryption.public_key()) == s.args[2]:
                    value = unwrap_x25519(s, ident.encryption, b"rehost/1 share key wrap")
                    index = int(s.args[1])
                    if value is None or share_commitment(unb64(s.args[3]), index, value) != unb64(s.args[4]):
                        raise FormatError(CORRUPT, "share stanza does not authenticate")
                    shares[index] = value
        if data_key is not None:
            break
    if data_key is None and shares:
        k = int(next(s for s in header.stanzas if s.type == "share").args[0].split("-of-")[0])
        if len(shares) >= k:
            data_key = shamir_combine(sorted(shares.items())[:k])
    if data_key is None:
        raise FormatError(KEY, "nothing given opens the archive")
    if not hmac.compare_digest(header_mac(header.covered(), data_key), header.mac):
        raise FormatError(CORRUPT, "the header MAC does not match: the header was modified")
    return hkdf(data_key, header.payload_salt, b"rehost/1 payload")


# --------------------------------------------------------------------------- chunks

def nonce(counter: int, final: bool) -> bytes:
    return b"\0\0\0" + counter.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def decrypt_chunks(f, key: bytes, chunk_size: int) -> Iterator[bytes]:
    aead = AESGCM(key)
    sealed = chunk_size + 16
    buf = f.read(sealed + 1)
    counter = 0
    while True:
        final = len(buf) <= sealed
        chunk = buf if final else buf[:sealed]
        if len(chunk) < 16 or (final and len(chunk) == 16 and counter > 0):
            raise FormatError(CORRUPT, f"truncated at chunk {counter}")
        try:
            yield aead.decrypt(nonce(counter, final), chunk, None)
        except InvalidTag:
            raise FormatError(CORRUPT, f"chunk {counter} failed authentication")
        if final:
            return
        counter += 1
        buf = buf[sealed:] + f.read(sealed)


def decompress_one_frame(chunks: Iterator[bytes]) -> Iterator[bytes]:
    d = zstandard.ZstdDecompressor().decompressobj()
    for chunk in chunks:
        if d.eof and chunk:
            raise FormatError(CORRUPT, "data after the zstd frame")
        try:
            out = d.decompress(chunk)
        except zstandard.ZstdError as e:
            raise FormatError(CORRUPT, f"zstd: {e}")
        if d.eof and d.unused_data:
            raise FormatError(CORRUPT, "data after the zstd frame")
        if out:
            yield out
    if not d.eof:
        raise FormatError(CORRUPT, "the payload ends inside its zstd frame")


class Stream:
    """Reads exact byte counts from an iterator of blocks."""

    def __init__(self, blocks: Iterator[bytes]):
        self.blocks, self.buf, self.total = blocks, b"", 0

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            try:
                self.buf += next(self.blocks)
            except StopIteration:
                break
        out, self.buf = self.buf[:n], self.buf[n:]
        self.total += len(out)
        return out

    def rest(self) -> bytes:
        data = self.buf + b"".join(self.blocks)
        self.buf = b""
        self.total += len(data)
        return data


# --------------------------------------------------------------------------- tar

@dataclass
class Entry:
    """A tar entry as rehost understands it."""
    path: bytes
    kind: str  # file, directory, symlink, hardlink, fifo, chardev, blockdev
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    user: bytes = b""
    group: bytes = b""
    mtime_s: int = 0
    mtime_ns: int = 0
    size: int = 0
    target: bytes = b""  # symlink target or hard link target
    device: Tuple[int, int] = (0, 0)
    xattrs: List[Tuple[bytes, bytes]] = field(default_factory=list)
    data: bytes = b""
    # For hostile archives: stream this many zero bytes as the content, or claim another size.
    zeros: int = 0
    header_size: Optional[int] = None
    extra_pax: List[Tuple[bytes, bytes]] = field(default_factory=list)


TYPEFLAG = {"file": b"0", "hardlink": b"1", "symlink": b"2", "chardev": b"3", "blockdev": b"4", "directory": b"5", "fifo": b"6"}
KIND = {v: k for k, v in TYPEFLAG.items()}
KIND[b"\0"] = "file"


def octal(value: int, width: int) -> bytes:
    return (b"%0*o" % (width - 1, value)) + b"\0"


def pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n).encode()) + len(body) != n:
        n = len(str(n).encode()) + len(body)
    return str(n).encode() + body


def ustar_header(name: bytes, typeflag: bytes, size: int, mode: int, uid: int, gid: int, mtime: int,
                 link: bytes = b"", uname: bytes = b"", gname: bytes = b"", dev=(0, 0)) -> bytes:
    h = bytearray(512)
    h[0:100] = name[:100].ljust(100, b"\0")
    h[100:108] = octal(mode, 8)
    h[108:116] = octal(min(uid, 0o7777777), 8)
    h[116:124] = octal(min(gid, 0o7777777), 8)
    h[124:136] = octal(min(size, 0o77777777777), 12)
    h[136:148] = octal(max(0, min(mtime, 0o77777777777)), 12)
    h[148:156] = b" " * 8
    h[156:157] = typeflag
    h[157:257] = link[:100].ljust(100, b"\0")
    h[257:265] = b"ustar\x0000"
    h[265:297] = uname[:32].ljust(32, b"\0")
    h[297:329] = gname[:32].ljust(32, b"\0")
    h[329:337] = octal(dev[0], 8)
    h[337:345] = octal(dev[1], 8)
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def pad(n: int) -> bytes:
    return b"\0" * ((512 - n % 512) % 512)


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def write_entry(out: Callable[[bytes], None], e: Entry):
    """A pax extended header with everything, then the ustar header, then the data."""
    # The bytes written after the header: the content (any kind may be given some, to
    # build hostile archives); `header_size` may claim another size than is written.
    size = e.zeros or len(e.data)
    claimed = e.header_size if e.header_size is not None else size
    name = e.path + (b"/" if e.kind == "directory" else b"")
    records = []
    binary = not all(is_utf8(x) for x in (name, e.target, e.user, e.group))
    if binary:
        records.append((b"hdrcharset", b"BINARY"))
    records.append((b"path", name))
    if e.kind in ("symlink", "hardlink"):
        records.append((b"linkpath", e.target))
    records.append((b"size", str(claimed).encode()))
    # Seconds rounded down, then the nanoseconds to add (FORMAT.md: -0.5 s is -1.500000000).
    records.append((b"mtime", ("%d.%09d" % (e.mtime_s, e.mtime_ns)).encode()))
    records.append((b"uid", str(e.uid).encode()))
    records.append((b"gid", str(e.gid).encode()))
    if e.user:
        records.append((b"uname", e.user))
    if e.group:
        records.append((b"gname", e.group))
    for k, v in e.xattrs:
        records.append((b"SCHILY.xattr." + k, v))
    records += e.extra_pax
    pax = b"".join(pax_record(k, v) for k, v in records)
    out(ustar_header(b"PaxHeader/" + e.path[-80:], b"x", len(pax), 0o644, 0, 0, max(e.mtime_s, 0)))
    out(pax + pad(len(pax)))
    out(ustar_header(name, TYPEFLAG[e.kind], claimed, e.mode & 0o7777, e.uid, e.gid, e.mtime_s, e.target, e.user, e.group, e.device))
    if e.zeros:
        block = b"\0" * (1 << 20)
        left = e.zeros
        while left:
            n = min(left, len(block))
            out(block[:n])
            left -= n
    elif e.data:
        out(e.data)
    out(pad(size))


def parse_pax(data: bytes) -> List[Tuple[bytes, bytes]]:
    records = []
    while data:
        sp = data.index(b" ")
        n = int(data[:sp])
        rec = data[sp + 1:n]
        if not rec.endswith(b"\n") or b"=" not in rec:
            raise FormatError(CORRUPT, "bad pax record")
        k, v = rec[:-1].split(b"=", 1)
        records.append((k, v))
        data = data[n:]
    return records


def number(field_bytes: bytes) -> int:
    """Octal, or base-256 (first byte 0x80 positive, 0xff negative), as libarchive reads."""
    if field_bytes[:1] and field_bytes[0] & 0x80:
        value = int.from_bytes(bytes([field_bytes[0] & 0x7F]) + field_bytes[1:], "big")
        return value - (1 << (8 * len(field_bytes) - 1)) if field_bytes[0] & 0x40 else value
    text = field_bytes.rstrip(b"\0 ").lstrip(b" ")
    return int(text, 8) if text else 0


def read_tar(stream: Stream) -> Iterator[Tuple[Entry, Stream, int]]:
    """Yields (entry, stream, size): the caller reads `size` bytes of content."""
    pax = None
    while True:
        h = stream.read(512)
        if len(h) < 512:
            raise FormatError(CORRUPT, "tar stream ends inside a header")
        if h == b"\0" * 512:
            if stream.read(512) != b"\0" * 512 or stream.rest():
                raise FormatError(CORRUPT, "the tar stream does not end with exactly two zero blocks")
            return
        if h[257:263] != b"ustar\0" or h[263:265] != b"00":
            raise FormatError(REFUSED, "not a POSIX ustar header")
        check = number(h[148:156])
        rest = h[:148] + b" " * 8 + h[156:]
        if check not in (sum(rest), sum(b - 256 if b > 127 else b for b in rest)):
            raise FormatError(CORRUPT, "bad tar header checksum")
        typ = h[156:157]
        size = number(h[124:136])
        if typ in (b"x", b"g"):
            data = stream.read(size)
            stream.read(len(pad(size)))
            if typ == b"x":  # several: later records win; global headers have no effect
                pax = (pax or []) + parse_pax(data)
            continue
        if typ not in KIND:
            raise FormatError(REFUSED, f"tar entry type {typ!r} is not one rehost writes")
        name = h[:100].rstrip(b"\0")
        if h[345:500].strip(b"\0"):
            name = h[345:500].rstrip(b"\0") + b"/" + name
        e = Entry(path=name, kind=KIND[typ], mode=number(h[100:108]), uid=number(h[108:116]), gid=number(h[116:124]),
                  mtime_s=number(h[136:148]), target=h[157:257].rstrip(b"\0"), user=h[265:297].rstrip(b"\0"),
                  group=h[297:329].rstrip(b"\0"), device=(number(h[329:337]), number(h[337:345])))
        binary = False
        for k, v in pax or []:
            if k == b"hdrcharset":
                binary = v == b"BINARY"
            elif k == b"path":
                e.path = v
            elif k == b"linkpath":
                e.target = v
            elif k == b"size":
                size = int(v)
            elif k == b"uid":
                e.uid = int(v)
            elif k == b"gid":
                e.gid = int(v)
            elif k == b"uname":
                e.user = v
            elif k == b"gname":
                e.group = v
            elif k == b"mtime":
                m = re.fullmatch(rb"(-?)([0-9]+)(?:\.([0-9]{1,9}))?", v)
                if not m:
                    raise FormatError(CORRUPT, "bad pax mtime")
                # FORMAT.md: signed whole seconds, then nanoseconds that are always added.
                e.mtime_s = int(m.group(2)) * (-1 if m.group(1) else 1)
                e.mtime_ns = int((m.group(3) or b"0").ljust(9, b"0"))
            elif k.startswith(b"SCHILY.xattr."):
                e.xattrs.append((k[len(b"SCHILY.xattr."):], v))
            elif k.startswith(b"LIBARCHIVE.xattr."):
                pass  # the same attributes, URL-encoded name and base64 value
            elif k.startswith(b"GNU.sparse") or k == b"SCHILY.realsize":
                raise FormatError(REFUSED, "sparse entries are not written by rehost")
            elif k == b"SCHILY.devmajor":
                e.device = (int(v), e.device[1])
            elif k == b"SCHILY.devminor":
                e.device = (e.device[0], int(v))
            elif k in (b"atime", b"ctime", b"SCHILY.dev", b"SCHILY.ino", b"SCHILY.nlink", b"charset", b"comment"):
                pass
        if not binary:
            for x in (e.path, e.target, e.user, e.group):
                if not is_utf8(x):
                    raise FormatError(REFUSED, "a pax name that is not UTF-8 without hdrcharset=BINARY")
        pax = None
        e.size = size
        yield e, stream, size
        stream.read(len(pad(size)))


# --------------------------------------------------------------------------- manifest

def json_string(text: bytes) -> str:
    """The manifest's escaping: `"`, `\\`, `\\n`, `\\r`, `\\t` short; other controls and
    0x7f as \\u00xx (lower case); everything else as is."""
    out = '"'
    for ch in text.decode("utf-8"):
        o = ord(ch)
        if ch == '"':
            out += '\\"'
        elif ch == "\\":
            out += "\\\\"
        elif ch == "\n":
            out += "\\n"
        elif ch == "\r":
            out += "\\r"
        elif ch == "\t":
            out += "\\t"
        elif o < 0x20 or o == 0x7F:
            out += "\\u%04x" % o
        else:
            out += ch
    return out + '"'


def json_name(key: str, value: bytes) -> str:
    if is_utf8(value):
        return f'"{key}":' + json_string(value)
    return f'"{key}_b64":"{b64(value)}"'


def manifest_line(e: Entry, sha256: Optional[str]) -> bytes:
    s = "{" + json_name("path", e.path) + f',"type":"{e.kind}","size":{e.size if e.kind == "file" else 0},'
    s += f'"mode":"{e.mode & 0o7777:04o}","uid":{e.uid},"gid":{e.gid},"user":{json_string(e.user)},"group":{json_string(e.group)},'
    s += f'"mtime":"{e.mtime_s}.{e.mtime_ns:09d}"'
    if e.kind in ("chardev", "blockdev"):
        s += f',"device":"{e.device[0]},{e.device[1]}"'
    if sha256 is not None:
        s += f',"sha256":"{sha256}"'
    if e.kind == "symlink":
        s += "," + json_name("target", e.target)
    if e.kind == "hardlink":
        s += "," + json_name("link", e.target)
    return (s + "}").encode()


def manifest_header(created, host, label, tool, sources, secrets=None) -> bytes:
    s = ('{"format":"rehost-manifest/1","created":%s,"host":%s,"label":%s,"tool":%s,"sources":[%s]'
         % (json_string(created.encode()), json_string(host.encode()), json_string(label.encode()), json_string(tool.encode()),
            ",".join('{"name":%s,"path":%s}' % (json_string(n.encode()), json_string(p.encode())) for n, p in sources)))
    if secrets is not None:
        s += ',"secrets":[%s]' % ",".join(json_string(x.encode()) for x in secrets)
    return (s + "}").encode()


def totals_line(entries: int, files: int, size: int) -> bytes:
    return b'{"totals":{"entries":%d,"files":%d,"bytes":%d}}' % (entries, files, size)


# --------------------------------------------------------------------------- entry rules

def check_clean(path: bytes, what: str):
    if path.startswith(b"/"):
        raise FormatError(REFUSED, f"{what} is absolute")
    if len(path) > 256 * 1024:
        raise FormatError(REFUSED, f"{what} is too long")
    for c in path.split(b"/"):
        if c == b"..":
            raise FormatError(REFUSED, f"{what} climbs out with ..")
        if c in (b"", b"."):
            raise FormatError(REFUSED, f"{what} is not clean")
        if len(c) > 255:
            raise FormatError(REFUSED, f"{what} has a name longer than 255 bytes")


DB_FILE = re.compile(rb"^\.rehost/databases/([A-Za-z0-9_-][A-Za-z0-9._-]{0,63})/(database\.sqlite|dump\.([0-9]{6})\.(pgdump|sql))$")
XATTR_OK = re.compile(rb"^(user|trusted|security)\..+$")


class Rules:
    """docs/FORMAT.md, "What a reader accepts"."""

    def __init__(self, entries: Optional[int], content: Optional[int]):
        self.entries, self.content = entries, content
        self.seen = {}
        self.dirs: List[bytes] = []
        self.tree = False
        self.db = None
        self.dbs_done = set()
        self.special = []

    def check(self, e: Entry):
        if e.kind == "directory" and e.path.endswith(b"/"):
            e.path = e.path[:-1]
        check_clean(e.path, repr(e.path))
        if self.entries is not None:
            if self.entries == 0:
                raise FormatError(CORRUPT, "more entries than the seal says")
            self.entries -= 1
        if e.path.split(b"/")[0] == b".rehost":
            m = DB_FILE.match(e.path)
            if not m or e.kind != "file":
                raise FormatError(REFUSED, ".rehost is reserved")
            if self.tree:
                raise FormatError(REFUSED, "database file after the tree")
            name, part = m.group(1), int(m.group(3) or b"1")
            if self.db and self.db[0] == name:
                if part != self.db[1] + 1 or m.group(4) != self.db[2]:
                    raise FormatError(REFUSED, "database parts out of order")
            else:
                if self.db:
                    self.dbs_done.add(self.db[0])
                if part != 1 or name in self.dbs_done:
                    raise FormatError(REFUSED, "database files out of order")
            self.db = (name, part, m.group(4))
        else:
            self.tree = True
            parent = e.path.rsplit(b"/", 1)[0] if b"/" in e.path else None
            while self.dirs and not (parent is not None and (parent == self.dirs[-1] or parent.startswith(self.dirs[-1] + b"/"))):
                self.dirs.pop()
            if (self.dirs[-1] if self.dirs else None) != parent:
                raise FormatError(REFUSED, f"{e.path!r} does not follow its directory")
        if e.path in self.seen:
            raise FormatError(REFUSED, f"{e.path!r} twice")
        self.seen[e.path] = e.kind
        if e.kind == "hardlink":
            check_clean(e.target, "hard link target")
            if self.seen.get(e.target) != "file":
                raise FormatError(REFUSED, "hard link to no earlier file")
            if e.size:
                raise FormatError(REFUSED, "hard link with data")
        elif e.kind == "symlink":
            if not e.target or len(e.target) > 4095:
                raise FormatError(REFUSED, "bad symlink target")
        elif e.kind == "file":
            if self.content is not None:
                if e.size > self.content:
                    raise FormatError(CORRUPT, "more content than the seal says")
                self.content -= e.size
        elif e.size:
            raise FormatError(REFUSED, f"a {e.kind} with data")
        if not (0 <= e.uid < 2**32 - 1 and 0 <= e.gid < 2**32 - 1):
            raise FormatError(REFUSED, "bad owner")
        if not (is_utf8(e.user) and is_utf8(e.group)):
            raise FormatError(REFUSED, "owner name not UTF-8")
        if e.xattrs and e.kind not in ("file", "directory"):
            raise FormatError(REFUSED, "xattrs on a special entry")
        for k, v in e.xattrs:
            ok = (len(k) <= 255 and len(v) <= 65536
                  and (XATTR_OK.match(k) or k == b"system.posix_acl_access" or (e.kind == "directory" and k == b"system.posix_acl_default")))
            if not ok:
                raise FormatError(REFUSED, "unrestorable xattr")
        if e.kind == "directory" and e.path.split(b"/")[0] != b".rehost":
            self.dirs.append(e.path)
        m = e.mode
        if e.kind in ("chardev", "blockdev") or (e.kind == "file" and (m & 0o6000 or m & 0o002 or any(k == b"security.capability" for k, _ in e.xattrs))) \
                or (e.kind == "directory" and m & 0o002 and not m & 0o1000):
            self.special.append(e.path)


# --------------------------------------------------------------------------- seal

def escape_value(data: bytes) -> str:
    """docs/FORMAT.md, "Escaped values"."""
    out = ""
    text_ok = True
    i = 0
    while i < len(data):
        for n in (1, 2, 3, 4):
            try:
                ch = data[i:i + n].decode("utf-8")
                if len(ch) == 1:
                    break
            except UnicodeDecodeError:
                ch = None
        else:
            ch = None
        if ch is None:
            out += "\\x%02x" % data[i]
            i += 1
            continue
        o = ord(ch)
        raw = ch.encode()
        hidden = (o < 0x20 or o == 0x7F or 0x80 <= o < 0xA0 or 0x200B <= o <= 0x200F or o in (0x2028, 0x2029)
                  or 0x202A <= o <= 0x202E or 0x2060 <= o <= 0x2069 or o == 0xFEFF)
        if hidden:
            out += "".join("\\x%02x" % b for b in raw)
        elif ch == "\\":
            out += "\\\\"
        elif ch == " " and (i == 0 or i == len(data) - 1):
            out += "\\x20"
        else:
            out += ch
        i += len(raw)
    return out


@dataclass
class SignatureBlock:
    fields: List[Tuple[str, str]]
    signature: bytes
    signed: bytes  # the exact bytes signed

    def get(self, name):
        return next((v for k, v in self.fields if k == name), None)


@dataclass
class Seal:
    statement: List[Tuple[str, str]]
    statement_bytes: bytes
    blocks: List[SignatureBlock]

    def get(self, name):
        return next((v for k, v in self.statement if k == name), None)

    def values(self, name):
        return [v for k, v in self.statement if k == name]


ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
FIELD = re.compile(r"^([A-Za-z0-9-]+): (.+)$")


def parse_seal(data: bytes) -> Seal:
    if len(data) > 1 << 20:
        raise FormatError(SEAL, "seal larger than 1 MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(SEAL, "seal is not UTF-8")
    if not text.endswith("\n"):
        raise FormatError(SEAL, "no final newline")
    lines = text[:-1].split("\n")
    pos = 0

    def block(end):
        nonlocal pos
        fields = []
        pos += 1
        while pos < len(lines) and lines[pos] != end:
            m = FIELD.match(lines[pos])
            if not m or m.group(2) != escape_check(m.group(2)):
                raise FormatError(SEAL, f"bad field at line {pos + 1}")
            fields.append((m.group(1), m.group(2)))
            pos += 1
        if pos == len(lines):
            raise FormatError(SEAL, "unterminated block")
        pos += 1
        return fields

    if not lines or lines[0] != "-----BEGIN REHOST SEAL STATEMENT-----":
        raise FormatError(SEAL, "no statement")
    statement = block("-----END REHOST SEAL STATEMENT-----")
    if not statement or statement[0] != ("Format", "rehost-seal/1"):
        raise FormatError(SEAL, "not rehost-seal/1")
    statement_bytes = ("\n".join(lines[:pos]) + "\n").encode()
    blocks = []
    while pos < len(lines):
        start = pos
        if lines[pos] != "-----BEGIN REHOST SIGNATURE-----":
            raise FormatError(SEAL, f"expected a signature block at line {pos + 1}")
        fields = block("-----END REHOST SIGNATURE-----")
        if not fields or fields[-1][0] != "Signature":
            raise FormatError(SEAL, "signature block without Signature")
        sig = unb64(fields[-1][1], "signature")
        fields = fields[:-1]
        names = [k for k, _ in fields]
        lead = ["Statement-SHA256", "Role", "Key", "Public-Key", "Time"]
        if names[:5] != lead or any(n in lead + ["Signature"] for n in names[5:]) or len(sig) != 64:
            raise FormatError(SEAL, "malformed signature block")
        signed = ("\n".join(lines[start:start + 1 + len(fields)]) + "\n").encode()
        b = SignatureBlock(fields, sig, signed)
        if not (HEX64.match(b.get("Statement-SHA256")) and HEX64.match(b.get("Key"))
                and re.fullmatch(r"[a-z0-9-]{1,40}", b.get("Role"))
                and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", b.get("Time"))):
            raise FormatError(SEAL, "malformed signature block fields")
        der = unb64(b.get("Public-Key"), "public key")
        if len(der) != 44 or not der.startswith(ED25519_SPKI_PREFIX):
            raise FormatError(SEAL, "Public-Key is not an Ed25519 key")
        blocks.append(b)
    if len(blocks) > 1000:
        raise FormatError(SEAL, "too many signatures")
    return Seal(statement, statement_bytes, blocks)


def escape_check(value: str) -> str:
    """A field value must already be one line of printable text (what escaping yields)."""
    if value != value.strip(" "):
        return ""
    for ch in value:
        o = ord(ch)
        if (o < 0x20 or o == 0x7F or 0x80 <= o < 0xA0 or 0x200B <= o <= 0x200F or o in (0x2028, 0x2029)
                or 0x202A <= o <= 0x202E or 0x2060 <= o <= 0x2069 or o == 0xFEFF):
            return ""
    return value


def validate_seal(seal: Seal):
    """What anyone can check: every block intact and over this statement, sealer first."""
    statement_hash = sha256hex(seal.statement_bytes)
    if not seal.blocks:
        raise FormatError(SEAL, "no signature")
    seen = set()
    for i, b in enumerate(seal.blocks):
        if b.get("Statement-SHA256") != statement_hash:
            raise FormatError(SEAL, f"signature {i + 1} is over another statement")
        der = unb64(b.get("Public-Key"))
        if sha256hex(der) != b.get("Key"):
            raise FormatError(SEAL, f"signature {i + 1}: Key is not its Public-Key")
        try:
            Ed25519PublicKey.from_public_bytes(der[12:]).verify(b.signature, b.signed)
        except InvalidSignature:
            raise FormatError(SEAL, f"signature {i + 1} does not verify")
        if (b.get("Role"), b.get("Key")) in seen:
            raise FormatError(SEAL, f"signature {i + 1} repeats another")
        seen.add((b.get("Role"), b.get("Key")))
        if i > 0 and b.get("Role") == "sealer":
            raise FormatError(SEAL, "a second sealer signature")
    if seal.blocks[0].get("Role") != "sealer" or seal.blocks[0].get("Key") != seal.get("Sealer"):
        raise FormatError(SEAL, "the first signature is not the sealer's")


SINGLE = ["Format", "Archive", "Archive-SHA256", "Archive-Size", "Manifest-SHA256", "Entries", "Content-Bytes", "Label",
          "Host", "Created", "Sealer", "Tool", "Repository", "Sequence", "Previous-Seal-SHA256"]


def statement_facts(seal: Seal) -> dict:
    for name in SINGLE:
        if len(seal.values(name)) > 1:
            raise FormatError(SEAL, f"{name} twice")
    facts = {}
    for name in ["Archive", "Archive-SHA256", "Archive-Size", "Manifest-SHA256", "Entries", "Content-Bytes", "Host", "Created", "Sealer", "Tool"]:
        v = seal.get(name)
        if v is None:
            raise FormatError(SEAL, f"no {name}")
        facts[name] = v
    for name in ["Archive-SHA256", "Manifest-SHA256", "Sealer"]:
        if not HEX64.match(facts[name]):
            raise FormatError(SEAL, f"bad {name}")
    for name in ["Archive-Size", "Entries", "Content-Bytes"]:
        if not re.fullmatch(r"0|[1-9][0-9]*", facts[name]):
            raise FormatError(SEAL, f"bad {name}")
        facts[name] = int(facts[name])
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", facts["Created"]):
        raise FormatError(SEAL, "bad Created")
    facts["Recipient"] = seal.values("Recipient")
    facts["Source"] = seal.values("Source")
    facts["Label"] = seal.get("Label") or ""
    # A backup's place in its repository (docs/BACKUP.md): the three come together.
    link = [seal.get(n) for n in ("Repository", "Sequence", "Previous-Seal-SHA256")]
    if any(v is not None for v in link):
        repository, sequence, previous = link
        if repository is None or not re.fullmatch(r"[0-9a-f]{32}", repository):
            raise FormatError(SEAL, "bad Repository")
        if sequence is None or not re.fullmatch(r"[1-9][0-9]*", sequence):
            raise FormatError(SEAL, "bad Sequence")
        if (previous is None) != (sequence == "1") or (previous is not None and not HEX64.match(previous)):
            raise FormatError(SEAL, "bad Previous-Seal-SHA256")
        facts["Repository"], facts["Sequence"], facts["Previous-Seal-SHA256"] = repository, int(sequence), previous
    return facts


def sign_block(statement_bytes: bytes, role: str, key: Ed25519PrivateKey, time: str, extra=()) -> bytes:
    fields = [("Statement-SHA256", sha256hex(statement_bytes)), ("Role", role), ("Key", fingerprint(key.public_key())),
              ("Public-Key", b64(der_public(key.public_key()))), ("Time", time)] + list(extra)
    signed = ("-----BEGIN REHOST SIGNATURE-----\n" + "".join(f"{k}: {v}\n" for k, v in fields)).encode()
    return signed + b"Signature: " + b64(key.sign(signed)).encode() + b"\n-----END REHOST SIGNATURE-----\n"


def statement(fields: List[Tuple[str, str]]) -> bytes:
    return ("-----BEGIN REHOST SEAL STATEMENT-----\n" + "".join(f"{k}: {v}\n" for k, v in fields)
            + "-----END REHOST SEAL STATEMENT-----\n").encode()


# --------------------------------------------------------------------------- writing

class Random:
    """Bytes from the OS, or from a fixed seed (for reproducible test vectors)."""

    def __init__(self, seed: Optional[bytes] = None):
        self.seed, self.counter = seed, 0

    def bytes(self, n: int) -> bytes:
        if self.seed is None:
            return os.urandom(n)
        out = b""
        while len(out) < n:
            out += hashlib.sha256(self.seed + self.counter.to_bytes(8, "big")).digest()
            self.counter += 1
        return out[:n]


@dataclass
class Written:
    archive: bytes
    facts: dict
    manifest_sha256: str


def write_tar(out: Callable[[bytes], None], entries: List[Entry], created="2026-12-01T00:00:00Z", host="ca1", label="",
              sources=None, manifest=None, databases=(), tar_tail: bytes = b""):
    """Writes the tar stream of `entries` and their manifest to `out`; returns the
    manifest's bytes, the file count, the content bytes and the entry lines."""
    lines, files, content = [], 0, 0
    for e in entries:
        h = hashlib.sha256()
        write_entry(out, e)
        if e.kind == "file":
            if not e.zeros:
                h.update(e.data)
            else:
                zero = b"\0" * (1 << 20)
                left = e.zeros
                while left:
                    n = min(left, len(zero))
                    h.update(zero[:n])
                    left -= n
        shown = Entry(**{**e.__dict__})
        shown.size = (e.zeros or len(e.data)) if e.kind == "file" else 0
        if e.kind == "directory":
            shown.path = e.path.rstrip(b"/")
        lines.append(manifest_line(shown, h.hexdigest() if e.kind == "file" else None))
        if e.kind == "file":
            files += 1
            content += shown.size
    if manifest:
        lines = manifest(lines)
    db_lines = [d if isinstance(d, bytes) else d.encode() for d in databases]
    mheader = manifest_header(created, host, label, "rehost-format.py 1", sources or [])
    body = (mheader + b"\n" + b"".join(l + b"\n" for l in lines) + b"".join(l + b"\n" for l in db_lines)
            + totals_line(len(lines), files, content) + b"\n")
    write_entry(out, Entry(path=b".rehost/manifest.jsonl", kind="file", mode=0o600, data=body, mtime_s=0))
    out(b"\0" * 1024 + tar_tail)
    return body, files, content, lines


def write_archive(entries: List[Entry], recipients: List[X25519PublicKey] = (), passphrase: Optional[bytes] = None,
                  custodians: Optional[Tuple[int, List[X25519PublicKey]]] = None, chunk_size: int = 65536,
                  created="2026-12-01T00:00:00Z", host="ca1", label="", sources=None, rng: Random = None,
                  manifest: Optional[Callable[[List[bytes]], List[bytes]]] = None, scrypt_log_n: int = 10,
                  extra_stanzas=(), tar_tail: bytes = b"", after_frame: bytes = b"", databases=()) -> Written:
    """Writes an archive of `entries` in order, with a manifest that lists them as they are
    (or as `manifest(lines)` rewrites them). Returns the bytes and the facts a seal needs."""
    rng = rng or Random()
    data_key = rng.bytes(32)
    stanzas = []
    for pub in recipients:
        eph = X25519PrivateKey.from_private_bytes(rng.bytes(32))
        eph_raw = raw_public(eph.public_key())
        wrap = hkdf(eph.exchange(pub), eph_raw + raw_public(pub), b"rehost/1 x25519 key wrap")
        s = Stanza("x25519", [fingerprint(pub), b64(eph_raw)], b"")
        s.body = AESGCM(wrap).encrypt(b"\0" * 12, data_key, s.line)
        stanzas.append(s)
    if passphrase is not None:
        salt = rng.bytes(16)
        s = Stanza("scrypt", [b64(salt), str(scrypt_log_n)], b"")
        wrap = hashlib.scrypt(passphrase, salt=b"rehost/1 scrypt" + salt, n=1 << scrypt_log_n, r=8, p=1, maxmem=1 << 30, dklen=32)
        s.body = AESGCM(wrap).encrypt(b"\0" * 12, data_key, s.line)
        stanzas.append(s)
    if custodians:
        k, pubs = custodians
        coefficients = [rng.bytes(32) for _ in range(k - 1)]
        for index, pub in enumerate(pubs, start=1):
            value = bytearray(data_key)
            power = 1
            for c in coefficients:
                power = gf_mul(power, index)
                for b in range(32):
                    value[b] ^= gf_mul(c[b], power)
            value = bytes(value)
            eph = X25519PrivateKey.from_private_bytes(rng.bytes(32))
            eph_raw = raw_public(eph.public_key())
            wrap = hkdf(eph.exchange(pub), eph_raw + raw_public(pub), b"rehost/1 share key wrap")
            s = Stanza("share", [f"{k}-of-{len(pubs)}", str(index), fingerprint(pub), b64(eph_raw),
                                 b64(share_commitment(eph_raw, index, value))], b"")
            s.body = AESGCM(wrap).encrypt(b"\0" * 12, value, s.line)
            stanzas.append(s)
    stanzas += list(extra_stanzas)
    salt = rng.bytes(16)
    covered = encode_header(stanzas, chunk_size, salt)
    header = covered + b"mac " + b64(header_mac(covered, data_key)).encode() + b"\n"
    payload_key = hkdf(data_key, salt, b"rehost/1 payload")

    # tar -> zstd -> chunks
    compressed = io.BytesIO()
    cctx = zstandard.ZstdCompressor(level=3, write_checksum=True).stream_writer(compressed, closefd=False)
    body, files, content, lines = write_tar(cctx.write, entries, created=created, host=host, label=label, sources=sources,
                                            manifest=manifest, databases=databases, tar_tail=tar_tail)
    cctx.flush(zstandard.FLUSH_FRAME)
    plain = compressed.getvalue() + after_frame
    aead = AESGCM(payload_key)
    chunks = [plain[i:i + chunk_size] for i in range(0, len(plain), chunk_size)] or [b""]
    payload = b"".join(aead.encrypt(nonce(i, i == len(chunks) - 1), c, None) for i, c in enumerate(chunks))
    archive = header + payload
    facts = {"Archive-SHA256": sha256hex(archive), "Archive-Size": len(archive), "Manifest-SHA256": sha256hex(body),
             "Entries": len(lines), "Content-Bytes": content, "Recipient": [s.seal_description() for s in stanzas],
             "Created": created, "Host": host, "Label": label, "Sources": [escape_value(p.encode()) for _, p in sources or []]}
    return Written(archive, facts, sha256hex(body))


def seal_for(written: Written, name: str, sealer: Ed25519PrivateKey, tool="rehost-format.py 1", time=None, tweak=None) -> bytes:
    f = written.facts
    fields = [("Format", "rehost-seal/1"), ("Archive", escape_value(name.encode())), ("Archive-SHA256", f["Archive-SHA256"]),
              ("Archive-Size", str(f["Archive-Size"])), ("Manifest-SHA256", f["Manifest-SHA256"]), ("Entries", str(f["Entries"])),
              ("Content-Bytes", str(f["Content-Bytes"]))]
    fields += [("Recipient", r) for r in f["Recipient"]]
    if f["Label"]:
        fields.append(("Label", f["Label"]))
    fields += [("Source", s) for s in f["Sources"]]
    fields += [("Host", escape_value(f["Host"].encode())), ("Created", f["Created"]), ("Sealer", fingerprint(sealer.public_key())),
               ("Tool", tool)]
    if tweak:
        fields = tweak(fields)
    st = statement(fields)
    return st + sign_block(st, "sealer", sealer, time or f["Created"])


# --------------------------------------------------------------------------- reading

@dataclass
class Verified:
    entries: List[Entry]
    contents: dict
    special: List[bytes]


def verify(archive_path: str, seal_path: str, trusted: List[Ed25519PublicKey], identities: List[Identity] = (),
           passphrase: Optional[bytes] = None, deep: bool = True) -> Optional[Verified]:
    """rehost verify (deep when keys are given). Raises FormatError with rehost's code."""
    seal = parse_seal(open(seal_path, "rb").read())
    validate_seal(seal)
    facts = statement_facts(seal)
    trusted_fps = {fingerprint(k) for k in trusted}
    if not any(b.get("Key") in trusted_fps for b in seal.blocks):
        raise FormatError(SEAL, "no trusted key signed this seal")
    data = open(archive_path, "rb").read()
    if sha256hex(data) != facts["Archive-SHA256"] or len(data) != facts["Archive-Size"]:
        raise FormatError(CORRUPT, "the archive does not match its seal")
    f = io.BytesIO(data)
    header = parse_header(f)
    if [s.seal_description() for s in header.stanzas] != facts["Recipient"]:
        raise FormatError(CORRUPT, "recipients differ from the seal's")
    payload_length = len(data) - len(header.raw)
    sealed = header.chunk_size + 16
    rest = payload_length % sealed
    if payload_length < 16 or (rest and rest < 16) or (rest == 16 and payload_length > 16):
        raise FormatError(CORRUPT, "impossible payload length")
    if not deep or (not identities and passphrase is None):
        return None
    key = open_header(header, list(identities), passphrase)
    stream = Stream(decompress_one_frame(decrypt_chunks(f, key, header.chunk_size)))
    rules = Rules(facts["Entries"], facts["Content-Bytes"])
    seen_lines, entries, contents = [], [], {}
    stored = None
    for e, s, size in read_tar(stream):
        if stored is not None:
            raise FormatError(CORRUPT, "entry after the manifest")
        if e.path == b".rehost/manifest.jsonl":
            stored = s.read(size)
            continue
        rules.check(e)
        content = s.read(size)
        if len(content) != size:
            raise FormatError(CORRUPT, "truncated content")
        if e.kind != "file" and size:
            raise FormatError(REFUSED, "data on a non-file")
        seen_lines.append(manifest_line(e, sha256hex(content) if e.kind == "file" else None))
        entries.append(e)
        if e.kind == "file":
            contents[e.path] = content
    if stored is None:
        raise FormatError(CORRUPT, "no manifest")
    if sha256hex(stored) != facts["Manifest-SHA256"]:
        raise FormatError(CORRUPT, "manifest hash differs from the seal's")
    if not stored.endswith(b"\n"):
        raise FormatError(CORRUPT, "manifest does not end with a newline")
    lines = stored[:-1].split(b"\n")
    head = json.loads(lines[0])
    if manifest_header(head["created"], head["host"], head["label"], head["tool"],
                       [(x["name"], x["path"]) for x in head["sources"]], head.get("secrets")) != lines[0]:
        raise FormatError(CORRUPT, "manifest header not canonical")
    body = lines[1:]
    totals = body[-1]
    databases = [l for l in body[:-1] if l.startswith(b'{"database":')]
    entry_lines = [l for l in body[:-1] if not l.startswith(b'{"database":')]
    if body[len(entry_lines):-1] != databases:
        raise FormatError(CORRUPT, "entries after database records")
    for i, (want, got) in enumerate(zip(entry_lines, seen_lines)):
        if want != got:
            raise FormatError(CORRUPT, f"entry {i + 1} differs from the manifest")
    if len(entry_lines) != len(seen_lines):
        raise FormatError(CORRUPT, "the manifest and the archive list different entries")
    files = [e for e in entries if e.kind == "file"]
    if totals != totals_line(len(entries), len(files), sum(e.size for e in files)):
        raise FormatError(CORRUPT, "totals differ")
    if len(entries) != facts["Entries"] or sum(e.size for e in files) != facts["Content-Bytes"]:
        raise FormatError(CORRUPT, "the manifest does not match its seal")
    db_sources = [json.loads(d)["database"]["source"] for d in databases]
    expected = {"Host": escape_value(head["host"].encode()), "Label": head["label"], "Created": head["created"], "Tool": head["tool"]}
    for k, v in expected.items():
        if facts[k] != v:
            raise FormatError(CORRUPT, f"the seal's {k} differs from the manifest's")
    if facts["Source"] != [escape_value(x["path"].encode()) for x in head["sources"]] + [escape_value(s.encode()) for s in db_sources]:
        raise FormatError(CORRUPT, "the seal's sources differ from the manifest's")
    return Verified(entries, contents, rules.special)


def main(argv):
    import argparse
    p = argparse.ArgumentParser(prog="rehost_format.py", description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["verify", "list"])
    p.add_argument("archive")
    p.add_argument("--seal")
    p.add_argument("--trust", action="append", default=[])
    p.add_argument("--identity", action="append", default=[])
    p.add_argument("--passphrase-file")
    a = p.parse_args(argv)
    try:
        trusted = [load_public(t).signing for t in a.trust]
        if a.command == "list" and not a.trust:
            raise FormatError(2, "list needs --trust too")
        ids = [load_identity(i) for i in a.identity]
        pw = read_passphrase(a.passphrase_file) if a.passphrase_file else None
        result = verify(a.archive, a.seal or a.archive + ".seal", trusted, ids, pw)
        if a.command == "list" and result:
            for e in result.entries:
                sys.stdout.buffer.write(manifest_line(e, None) + b"\n")
        print("OK" + (" (deep)" if result else ""))
        return 0
    except FormatError as e:
        print(f"rehost_format.py: {e}", file=sys.stderr)
        return e.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
