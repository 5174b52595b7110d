#!/usr/bin/env bash
# bench-nightly.sh REHOST - the nightly case: a second backup after a small change (about
# 1 % of the corpus's files rewritten in part, its largest log appended to), with its time
# and the bytes it adds to the repository, beside restic's and Borg's on the same change
# (their first backups made first, as ours). A rehost backup is a whole sealed archive that
# stands alone for the auditor; restic and Borg store only what changed.
#
# Corpus: bench/make-corpus.sh (SCALE, default "default": ~1 GiB; "small": ~100 MB), once
# into $BENCH_DIR (default /tmp/rehost-bench). Needs restic, borgbackup, GNU time.
set -euo pipefail
rehost=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=${BENCH_DIR:-/tmp/rehost-bench}
scale=${SCALE:-default}
mkdir -p "$work"
cd "$work"
if [ ! -f "corpus-1.done" ]; then
  echo "generating corpus 1 (scale $scale; a few minutes, once)..." >&2
  rm -rf corpus-1
  bash "$here/make-corpus.sh" --scale "$scale" --seed 1 --out "$work/corpus-1" >/dev/null 2>&1
  touch corpus-1.done
fi
rm -rf nightly && mkdir nightly && cd nightly
cp -a ../corpus-1 src
"$rehost" keygen --out host >/dev/null
"$rehost" keygen --out custodian >/dev/null
cat > backup.yaml <<'EOF'
backup: 1
repository: rehost-repo
sources: [src]
recipients: [custodian.pub]
signing-key: host.key
EOF
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR="$PWD/restic-cache" BORG_PASSPHRASE=bench BORG_BASE_DIR="$PWD/borg-home"
"$rehost" backup init --config backup.yaml >/dev/null
restic init --repo restic-repo -q
borg init --encryption=repokey-blake2 borg-repo

# timed NAME COMMAND: wall time of one run into $t_NAME.
timed() {
  sync
  /usr/bin/time -f "%e" -o time.txt bash -c "$2" >/dev/null 2>err.txt || { cat err.txt >&2; echo "failed: $2" >&2; exit 1; }
  printf -v "t_$1" '%s' "$(cat time.txt)"
}
size() { du -sb "$1" | cut -f1; }
run_all() { # run_all ROUND
  timed rehost "'$rehost' backup run --config backup.yaml"
  timed restic "restic --repo restic-repo backup -q src"
  timed borg "borg create --compression zstd,3 borg-repo::night-$1 src"
}

find src -type f -exec cat {} + >/dev/null
run_all 1
first="rehost ${t_rehost} s, restic ${t_restic} s, borg ${t_borg} s"
before_rehost=$(size rehost-repo); before_restic=$(size restic-repo); before_borg=$(size borg-repo)

# The change: 1 % of the files (every 100th, in sorted order) get 4 KiB rewritten at their
# middle; the largest .log file gets 1 MiB appended. Deterministic.
python3 - <<'PY'
import os, random
rng = random.Random(7)
files = sorted(os.path.join(d, f) for d, _, fs in os.walk("src") for f in fs if not os.path.islink(os.path.join(d, f)))
changed = 0
for path in files[::100]:
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(max(0, size // 2 - 2048))
        f.write(rng.randbytes(min(4096, max(size, 1))))
    changed += 1
logs = [p for p in files if p.endswith(".log")] or files
largest = max(logs, key=os.path.getsize)
with open(largest, "ab") as f:
    f.write(b"".join(b"%d 2026-12-02T03:00:00Z ca1 signer: issued serial %08x\n" % (i, rng.getrandbits(32)) for i in range(16384)))
print(f"changed {changed} of {len(files)} files; appended to {largest}")
PY
find src -type f -exec cat {} + >/dev/null
run_all 2
added() { numfmt --to=iec --suffix=B "$(( $(size "$1") - $2 ))"; }
echo
echo "rehost nightly bench: corpus $(numfmt --to=iec "$(size src)") ($(find src -type f | wc -l) files), $(nproc) cores"
echo "first backups: $first"
printf "second backup after the change:  rehost %6.2f s, +%s | restic %6.2f s, +%s | borg %6.2f s, +%s\n" \
  "$t_rehost" "$(added rehost-repo "$before_rehost")" "$t_restic" "$(added restic-repo "$before_restic")" "$t_borg" "$(added borg-repo "$before_borg")"
awk -v r="$t_rehost" -v s="$t_restic" -v b="$t_borg" 'BEGIN { printf "time ratio: restic/rehost %.2f, borg/rehost %.2f (above 1: rehost is faster)\n", s/r, b/r }'
"$rehost" backup verify-chain rehost-repo --trust host.pub | tail -1
cd .. && rm -rf nightly
