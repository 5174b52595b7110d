#!/usr/bin/env bash
# bench.sh REHOST - throughput and peak memory of rehost against reference pipelines
# on the same data in the same run (machines here are noisy: read the ratios).
#
#   snapshot  vs  tar -cf - | zstd -T0 -3 | age -r KEY
#   restore   vs  age -d | zstd -d | tar -xf -
#   verify    vs  the same decrypting pipeline (deep verify: decrypt, decompress, hash all)
#
# Corpus: bench/make-corpus.sh at default scale (~1 GiB), generated once into
# $BENCH_DIR (default /tmp/rehost-bench). A second corpus (another seed) makes the
# "twice as large" run for the memory check. Each timing is the best of $ROUNDS runs.
# Needs: age, zstd, GNU tar, GNU time (make bench installs them).
set -euo pipefail
rehost=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=${BENCH_DIR:-/tmp/rehost-bench}
rounds=${ROUNDS:-2}
scale=${SCALE:-default}
mkdir -p "$work"
cd "$work"

for seed in 1 2; do
  if [ ! -f "corpus-$seed.done" ]; then
    echo "generating corpus $seed (scale $scale; a few minutes, once)..." >&2
    rm -rf "corpus-$seed"
    bash "$here/make-corpus.sh" --scale "$scale" --seed "$seed" --out "$work/corpus-$seed" >/dev/null 2>&1
    touch "corpus-$seed.done"
  fi
done
[ -f operator.key ] || "$rehost" keygen --out operator >/dev/null
[ -f custodian.key ] || "$rehost" keygen --out custodian >/dev/null
[ -f age.key ] || age-keygen -o age.key 2>/dev/null
age_pub=$(age-keygen -y age.key)
bytes=$(du -sb corpus-1 | cut -f1)

# measure NAME COMMAND: best wall time (s) and its peak RSS (KiB) into $best_s, $best_kib.
measure() {
  local name=$1; shift
  best_s=""; best_kib=""
  for _ in $(seq "$rounds"); do
    rm -rf out ref-out out.rehost out.rehost.seal; mkdir -p ref-out
    sync
    /usr/bin/time -f "%e %M" -o time.txt bash -c "$*" >/dev/null 2>err.txt || { cat err.txt >&2; echo "$name failed" >&2; exit 1; }
    read -r s kib < time.txt
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_kib=$kib; fi
  done
}

row() { # row WHAT OURS_S OURS_KIB REF_S REF_KIB
  awk -v w="$1" -v os="$2" -v ok="$3" -v rs="$4" -v rk="$5" -v b="$bytes" 'BEGIN {
    printf "%-9s rehost %6.2f s %7.1f MB/s %6.1f MiB peak | reference %6.2f s %7.1f MB/s %6.1f MiB | speed ratio %.2f\n",
      w, os, b/os/1e6, ok/1024, rs, b/rs/1e6, rk/1024, rs/os }'
}

find corpus-1 -type f -exec cat {} + >/dev/null  # warm the page cache for both sides alike

# Snapshot.
measure ref "tar -cf - -C '$work' corpus-1 | zstd -T0 -3 -q | age -r $age_pub > ref.age"
ref_s=$best_s; ref_kib=$best_kib
measure rehost "'$rehost' snapshot corpus-1 --out out.rehost --recipient custodian.pub --sign operator.key --quiet && cp out.rehost keep.rehost && cp out.rehost.seal keep.rehost.seal"
snap_s=$best_s; snap_kib=$best_kib
tar -cf - -C "$work" corpus-1 | zstd -T0 -3 -q | age -r "$age_pub" > ref.age

# Restore.
measure ref "age -d -i age.key ref.age | zstd -d -q | tar -xf - -C ref-out"
rref_s=$best_s; rref_kib=$best_kib
measure rehost "'$rehost' restore keep.rehost --to out --identity custodian.key --trust operator.pub"
rest_s=$best_s; rest_kib=$best_kib

# Deep verify (against the same decrypt-decompress-extract pipeline, as the issue sets it).
measure rehost "'$rehost' verify keep.rehost --trust operator.pub --identity custodian.key"
ver_s=$best_s; ver_kib=$best_kib

# Memory on twice the data (two corpora as two sources).
measure rehost2 "'$rehost' snapshot corpus-1 corpus-2 --out out.rehost --recipient custodian.pub --sign operator.key --quiet && cp out.rehost keep2.rehost && cp out.rehost.seal keep2.rehost.seal"
snap2_kib=$best_kib
measure rehost2 "'$rehost' restore keep2.rehost --to out --identity custodian.key --trust operator.pub"
rest2_kib=$best_kib
measure rehost2 "'$rehost' verify keep2.rehost --trust operator.pub --identity custodian.key"
ver2_kib=$best_kib

echo
echo "rehost bench: corpus $(numfmt --to=iec "$bytes") ($(find corpus-1 -type f | wc -l) files), $(nproc) cores, best of $rounds"
echo "speed ratio = reference time / rehost time (above 1: rehost is faster)"
row snapshot "$snap_s" "$snap_kib" "$ref_s" "$ref_kib"
row restore "$rest_s" "$rest_kib" "$rref_s" "$rref_kib"
row verify "$ver_s" "$ver_kib" "$rref_s" "$rref_kib"
awk -v a="$snap_kib" -v b="$snap2_kib" -v c="$rest_kib" -v d="$rest2_kib" -v e="$ver_kib" -v f="$ver2_kib" 'BEGIN {
  printf "peak memory, 1x -> 2x data: snapshot %.1f -> %.1f MiB, restore %.1f -> %.1f MiB, verify %.1f -> %.1f MiB\n",
    a/1024, b/1024, c/1024, d/1024, e/1024, f/1024 }'
rm -rf out ref-out out.rehost out.rehost.seal
