"""Writes hostile archives: correctly encrypted to CUSTODIAN and sealed by SEALER (an
insider, or a compromised source host), each breaking one rule of docs/FORMAT.md in a
way that, if restore followed it, would write outside the restore directory, overwrite
what was checked, or fill the disk. Built with contrib/python/rehost_format.py, an
implementation of the format independent of rehost's own writer.

    python3 hostile_archives.py OUT_DIR SEALER.key CUSTODIAN.pub SENTINEL_DIR

SENTINEL_DIR is an absolute directory outside the restore target that the archives aim
at. Writes OUT_DIR/NAME.rehost (+ .seal) per case and OUT_DIR/cases.json:
[{"name", "code" (rehost's exit code for restore and deep verify), "words" (in the
message), "special" (true when --allow-special makes it restorable)}].
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../contrib/python"))
from rehost_format import Entry as E, load_identity, load_public, seal_for, write_archive  # noqa: E402

out, sealer_key, custodian_pub, sentinel = sys.argv[1:5]
sentinel = sentinel.encode()
sealer = load_identity(sealer_key).signing
custodian = load_public(custodian_pub).encryption
cases = []


def d(path, mode=0o755):
    return E(path.encode() if isinstance(path, str) else path, "directory", mode, mtime_s=1700000000)


def f(path, data=b"payload\n", mode=0o644, **kw):
    return E(path.encode() if isinstance(path, str) else path, "file", mode, data=data, mtime_s=1700000000, **kw)


def sym(path, target):
    return E(path.encode(), "symlink", 0o777, target=target if isinstance(target, bytes) else target.encode(), mtime_s=1700000000)


def hard(path, target, **kw):
    return E(path.encode(), "hardlink", 0o644, target=target.encode(), mtime_s=1700000000, **kw)


def case(name, entries, code, words, special=False, facts=None, **kw):
    written = write_archive(entries, recipients=[custodian], sources=[("ca", "/srv/ca")], chunk_size=4096, **kw)
    if facts:
        written.facts.update(facts)
    with open(f"{out}/{name}.rehost", "wb") as fh:
        fh.write(written.archive)
    with open(f"{out}/{name}.rehost.seal", "wb") as fh:
        fh.write(seal_for(written, f"{name}.rehost", sealer))
    cases.append({"name": name, "code": code, "words": words, "special": special})


S = sentinel.decode()
# 1. Hard links to symlinks, placed at another depth: through them, a later entry would
#    reach outside. A hard link only ever names an earlier regular file.
case("hardlink-to-symlink-deeper", [d("ca"), d("ca/a"), d("ca/a/b"), sym("ca/a/b/up", "../../.."), hard("ca/up", "ca/a/b/up"),
                                     f("ca/up/escaped.txt")], 6, "does not name an earlier regular file")
case("hardlink-to-absolute-symlink", [d("ca"), sym("ca/s", S), hard("ca/h", "ca/s"), d("ca/h/dir"), f("ca/h/dir/x")],
     6, "does not name an earlier regular file")
case("file-through-symlink", [d("ca"), sym("ca/l", S), f("ca/l/planted.txt", mode=0o6777)], 6, "does not come right after its directory")
case("directory-through-symlink", [d("ca"), sym("ca/l", S), d("ca/l/new")], 6, "does not come right after its directory")
case("file-onto-existing-outside", [d("ca"), sym("ca/victim", S + "/victim.txt"), f("ca/victim", b"truncated", mode=0o6777)], 6, "twice")
# 2. A hard link carrying data would overwrite a file already checked.
case("hardlink-with-data", [d("ca"), f("ca/a", b"good\n"), hard("ca/h", "ca/a", data=b"EVIL\n", header_size=5)], 6, "carries 5 bytes")
# 3. The same path twice: the tree would differ from the manifest.
case("duplicate-file", [d("ca"), f("ca/x", b"one\n"), f("ca/x", b"two\n")], 6, "twice")
case("file-then-directory", [d("ca"), f("ca/x"), d("ca/x")], 6, "twice")
case("directory-then-symlink", [d("ca"), d("ca/x"), sym("ca/x", S)], 6, "twice")
case("duplicate-top-level", [d("ca"), d("ca")], 6, "twice")
# 4. .rehost is reserved.
case("reserved-name", [E(b".rehost/evil", "file", 0o644, data=b"x")], 6, "reserved")
case("reserved-directory", [d(".rehost"), E(b".rehost/databases/x/database.sqlite", "file", 0o644, data=b"x")], 6, "reserved")
# 5. A 2 GiB file of zeros (a few KB compressed) that the seal does not account for:
#    refused before its content is written.
case("size-beyond-seal", [d("ca"), f("ca/zeros", zeros=2 << 30)], 3, "more than is left of the seal's Content-Bytes",
     facts={"Content-Bytes": 10})
# 6. Special entries: restored only with --allow-special.
case("device-node", [d("ca"), E(b"ca/mem", "chardev", 0o666, device=(1, 1), mtime_s=1)], 6, "character device 1,1", special=True)
case("setuid-root", [d("ca"), f("ca/shell", b"#!/bin/sh\n", mode=0o4755)], 6, "setuid file", special=True)
case("setgid-file", [d("ca"), f("ca/g", mode=0o2755)], 6, "setgid file", special=True)
case("world-writable-directory", [d("ca"), d("ca/drop", 0o777)], 6, "world-writable directory", special=True)
case("file-capabilities", [d("ca"), f("ca/cap", xattrs=[(b"security.capability", bytes.fromhex("0000000200200000000000000000000000000000"))])],
     6, "capabilities", special=True)
# Names that are not clean, and entries out of order.
case("absolute-path", [f(S + "/absolute.txt")], 6, "absolute")
case("dot-dot", [d("ca"), f("ca/../../escape.txt")], 6, "'..'")
case("dot-component", [d("ca"), f("ca/./x")], 6, "not a clean relative path")
case("empty-component", [d("ca"), f("ca//x")], 6, "not a clean relative path")
case("hardlink-outside", [d("ca"), hard("ca/h", S + "/victim.txt")], 6, "absolute")
case("no-parent-entry", [f("ca/x")], 6, "does not come right after its directory")
case("back-into-a-finished-directory", [d("ca"), d("ca/a"), d("ca/b"), f("ca/a/late")], 6, "does not come right after its directory")
case("hardlink-to-later-file", [d("ca"), hard("ca/h", "ca/x"), f("ca/x")], 6, "does not name an earlier regular file")
case("fifo-with-data", [d("ca"), E(b"ca/p", "fifo", 0o644, data=b"hello", mtime_s=1)], 6, "carries 5 bytes")
case("long-name", [d("ca"), f("ca/" + "n" * 300)], 6, "longer than 255 bytes")
case("unknown-xattr", [d("ca"), f("ca/x", xattrs=[(b"system.evil", b"1")])], 6, "extended attribute")
# The stream itself: only the manifest may end it, then exactly the end-of-archive marker.
case("data-after-tar-end", [d("ca"), f("ca/x")], 3, "data follows the end-of-archive marker", tar_tail=b"\x01" * 512)
case("data-after-zstd-frame", [d("ca"), f("ca/x")], 3, "data follows the compressed payload's zstd frame", after_frame=b"\x28\xb5\x2f\xfd")

with open(f"{out}/cases.json", "w") as fh:
    json.dump(cases, fh, indent=1)
