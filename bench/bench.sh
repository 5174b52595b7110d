#!/usr/bin/env bash
# bench.sh REHOST - throughput and peak memory of rehost against reference pipelines
# on the same data in the same run (machines here are noisy: read the ratios).
#
#   snapshot  vs  tar -cf - | zstd -T0 -3 | age -r KEY (and at zstd -1, rehost's level)
#   restore   vs  age -d | zstd -d | tar -xf -
#   snapshot+, restore+: the same with the pipeline followed by sync -f (rehost's output is
#             durable when it returns; the pipeline's is not until then)
#   verify    vs  the same pipeline, and vs age -d | zstd -d | sha256sum
#
# Corpus: bench/make-corpus.sh at default scale (~1 GiB), generated once into
# $BENCH_DIR (default /tmp/rehost-bench). A second corpus (another seed) makes the
# "twice as large" run for the memory check. rehost and the reference alternate, and
# each side keeps its best of $ROUNDS runs (default 3).
# Needs: age, zstd, GNU tar, GNU time (make bench installs them).
set -euo pipefail
rehost=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=${BENCH_DIR:-/tmp/rehost-bench}
rounds=${ROUNDS:-3}
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

source "$here/measure.sh"
before_each() {
  rm -rf out ref-out out.rehost out.rehost.seal; mkdir -p ref-out
  sync  # start each run with no dirty pages left by the one before
}

row() { # row WHAT OURS_S OURS_KIB REF_S REF_KIB
  awk -v w="$1" -v os="$2" -v ok="$3" -v rs="$4" -v rk="$5" -v b="$bytes" 'BEGIN {
    printf "%-9s rehost %6.2f s %7.1f MB/s %6.1f MiB peak | reference %6.2f s %7.1f MB/s %6.1f MiB | speed ratio %.2f\n",
      w, os, b/os/1e6, ok/1024, rs, b/rs/1e6, rk/1024, rs/os }'
}

find corpus-1 -type f -exec cat {} + >/dev/null  # warm the page cache for both sides alike

# Snapshot.
compare "tar -cf - -C '$work' corpus-1 | zstd -T0 -3 -q | age -r $age_pub > ref.age" \
  "'$rehost' snapshot corpus-1 --out out.rehost --recipient custodian.pub --sign operator.key --quiet && mv out.rehost keep.rehost && mv out.rehost.seal keep.rehost.seal"
snapshot_row=$(row snapshot "$our_s" "$our_kib" "$ref_s" "$ref_kib"); snap_kib=$our_kib
# rehost writes zstd level 1 (3 % larger than level 3 on this corpus at half the CPU):
# also against the pipeline at that level, and the sizes.
compare "tar -cf - -C '$work' corpus-1 | zstd -T0 -1 -q | age -r $age_pub > ref.age" \
  "'$rehost' snapshot corpus-1 --out out.rehost --recipient custodian.pub --sign operator.key --quiet"
level1_row=$(row "snapshot1" "$our_s" "$our_kib" "$ref_s" "$ref_kib")
level1_size=$(stat -c %s ref.age)
tar -cf - -C "$work" corpus-1 | zstd -T0 -3 -q | age -r "$age_pub" > ref.age
sizes_row=$(awk -v r="$(stat -c %s keep.rehost)" -v p3="$(stat -c %s ref.age)" -v p1="$level1_size" 'BEGIN {
  printf "sizes     rehost archive %.1f MB, pipeline at zstd -3 %.1f MB (rehost %+.1f %%), at zstd -1 %.1f MB", r/1e6, p3/1e6, (r/p3-1)*100, p1/1e6 }')

# Restore.
compare "age -d -i age.key ref.age | zstd -d -q | tar -xf - -C ref-out" \
  "'$rehost' restore keep.rehost --to out --identity custodian.key --trust operator.pub"
restore_row=$(row restore "$our_s" "$our_kib" "$ref_s" "$ref_kib"); rest_kib=$our_kib
# rehost returns with its output on disk (fsync of the archive; syncfs of the restored tree
# before it is committed); the pipelines return with theirs in the page cache. The same
# two, the pipelines followed by a syncfs of their output (sync -f):
compare "tar -cf - -C '$work' corpus-1 | zstd -T0 -3 -q | age -r $age_pub > ref.age && sync -f ref.age" \
  "'$rehost' snapshot corpus-1 --out out.rehost --recipient custodian.pub --sign operator.key --quiet"
durable_snapshot_row=$(row "snapshot+" "$our_s" "$our_kib" "$ref_s" "$ref_kib")
compare "age -d -i age.key ref.age | zstd -d -q | tar -xf - -C ref-out && sync -f ref-out" \
  "'$rehost' restore keep.rehost --to out --identity custodian.key --trust operator.pub"
durable_restore_row=$(row "restore+" "$our_s" "$our_kib" "$ref_s" "$ref_kib")

# Deep verify, against the same decrypt-decompress-extract pipeline (as issue 2 sets it)
# and against one that only decrypts, decompresses and hashes the tar stream.
compare "age -d -i age.key ref.age | zstd -d -q | tar -xf - -C ref-out" \
  "'$rehost' verify keep.rehost --trust operator.pub --identity custodian.key"
verify_row=$(row verify "$our_s" "$our_kib" "$ref_s" "$ref_kib"); ver_kib=$our_kib
compare "age -d -i age.key ref.age | zstd -d -q | sha256sum" \
  "'$rehost' verify keep.rehost --trust operator.pub --identity custodian.key"
verify2_row=$(row "verify*" "$our_s" "$our_kib" "$ref_s" "$ref_kib")

# Where users run it. A cold cache: the nightly job reads files not in memory (as root).
snapshot_ours="'$rehost' snapshot corpus-1 --out out.rehost --recipient custodian.pub --sign operator.key --quiet"
snapshot_ref="tar -cf - -C '$work' corpus-1 | zstd -T0 -3 -q | age -r $age_pub > ref.age"
if [ -w /proc/sys/vm/drop_caches ]; then
  pre="echo 3 > /proc/sys/vm/drop_caches"
  compare "$snapshot_ref" "$snapshot_ours"
  cold_row=$(row "cold" "$our_s" "$our_kib" "$ref_s" "$ref_kib")
  pre=""
  find corpus-1 -type f -exec cat {} + >/dev/null
else
  cold_row="cold      skipped: dropping the page cache needs root"
fi
# Beside busy processes: two busy loops, each in a session (and scheduling group) of its
# own, as services in their own cgroups are.
busy_pids=""
for _ in 1 2; do setsid sh -c 'while :; do :; done' & busy_pids="$busy_pids $!"; done
compare "$snapshot_ref" "$snapshot_ours"
busy_row=$(row "busy" "$our_s" "$our_kib" "$ref_s" "$ref_kib")
kill $busy_pids 2>/dev/null || true
wait $busy_pids 2>/dev/null || true
# Scaling: the same snapshot on one core and on all of them.
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then
  compare "taskset -c 0 $snapshot_ours" "$snapshot_ours"
  scaling_row=$(awk -v one="$ref_s" -v all="$our_s" -v n="$(nproc)" 'BEGIN {
    printf "scaling   rehost snapshot on 1 core %.2f s, on %d cores %.2f s: %.2fx", one, n, all, one/all }')
else
  scaling_row="scaling   skipped: one core"
fi

# Memory on twice the data (two corpora as two sources); rehost only.
once "'$rehost' snapshot corpus-1 corpus-2 --out out.rehost --recipient custodian.pub --sign operator.key --quiet && mv out.rehost keep2.rehost && mv out.rehost.seal keep2.rehost.seal"
snap2_kib=$run_kib
once "'$rehost' restore keep2.rehost --to out --identity custodian.key --trust operator.pub"
rest2_kib=$run_kib
once "'$rehost' verify keep2.rehost --trust operator.pub --identity custodian.key"
ver2_kib=$run_kib

echo
echo "rehost bench: corpus $(numfmt --to=iec "$bytes") ($(find corpus-1 -type f | wc -l) files), $(nproc) cores, best of $rounds"
echo "speed ratio = reference time / rehost time (above 1: rehost is faster)"
echo "$snapshot_row"
echo "$level1_row   (reference at zstd -T0 -1, rehost's level)"
echo "$sizes_row"
echo "$restore_row"
echo "$durable_snapshot_row   (+ reference followed by sync -f: on disk when it returns, as rehost's is)"
echo "$durable_restore_row   (+ reference followed by sync -f)"
echo "$verify_row"
echo "$verify2_row   (* reference: age -d | zstd -d | sha256sum)"
echo "$cold_row   (snapshot, page cache dropped before each run; target ratio 1.0)"
echo "$busy_row   (snapshot beside two busy loops; target ratio 0.83, i.e. 1.2x the pipeline's time)"
echo "$scaling_row"
echo "targets: snapshot ratio 1.18 (0.85x the pipeline's time), restore 1.18, verify* 2.0"
awk -v a="$snap_kib" -v b="$snap2_kib" -v c="$rest_kib" -v d="$rest2_kib" -v e="$ver_kib" -v f="$ver2_kib" 'BEGIN {
  printf "peak memory, 1x -> 2x data: snapshot %.1f -> %.1f MiB, restore %.1f -> %.1f MiB, verify %.1f -> %.1f MiB\n",
    a/1024, b/1024, c/1024, d/1024, e/1024, f/1024 }'
rm -rf out ref-out out.rehost out.rehost.seal
