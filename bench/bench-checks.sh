#!/usr/bin/env bash
# bench-checks.sh REHOST - `rehost check` throughput, all checks on, against badkeys on
# the same keys in the same run (machines here are noisy: read the ratios).
#
#   100,000 RSA-2048 public keys, one PEM file each (half SPKI, half PKCS#1), with the
#   sample Debian list loaded: rehost check DIR   vs   badkeys -m MODULI (its checks that
#   match rehost's: fermat, roca, rsainvalid, sharedprimes, smallfactors, rsawarnings).
#   badkeys reads a list of hex moduli, which spares it the PEM files rehost reads, and its
#   "sharedprimes" is one gcd with its own product of primes from known-bad keys, not a
#   batch GCD across the keys scanned: rehost's batch GCD is work badkeys does not do. The
#   "files" timing line is rehost's per-key checks alone (reading, parsing, every test but
#   batch GCD).
#   50,000 of them: the batch GCD alone (from REHOST_TIMINGS), target under a minute
#   6,000 genuine RSA-2048 private keys (two 1024-bit primes; half PKCS#8, half PKCS#1):
#   rehost check DIR   vs   badkeys -m on their moduli, the same checks (badkeys 0.0.21
#   does not read private key files); target: rehost at least 50 times as fast. rehost
#   uses the primes a private key gives: shared primes by a table, no batch GCD (it runs
#   only for moduli whose primes are not known)
#
# The keys come from bench/gen-rsa-keys.c (compiled here against GMP), generated once
# into $BENCH_DIR/keys (about 2 minutes on 2 cores). Each side keeps its best of $ROUNDS
# (default 2) runs. Needs: cc, libgmp-dev, badkeys (make bench installs them).
set -euo pipefail
rehost=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=${BENCH_DIR:-/tmp/rehost-bench}
rounds=${ROUNDS:-2}
count=${KEYS:-100000}
mkdir -p "$work"
cd "$work"

if [ ! -x gen-rsa-keys ] || [ "$here/gen-rsa-keys.c" -nt gen-rsa-keys ]; then
  ${CC:-cc} -O2 -o gen-rsa-keys "$here/gen-rsa-keys.c" -lgmp
  rm -f "keys.done"
fi
if [ "$(cat keys.done 2>/dev/null)" != "$count" ]; then
  echo "generating $count RSA-2048 public keys (once)..." >&2
  rm -rf keys && ./gen-rsa-keys "$count" keys 1
  cat keys/moduli-*.txt > moduli.txt
  echo "$count" > keys.done
fi
private_count=${PRIVATE_KEYS:-6000}
if [ "$(cat private-keys.done 2>/dev/null)" != "$private_count" ]; then
  echo "generating $private_count RSA-2048 private keys (once, about 5 minutes on 2 cores)..." >&2
  rm -rf private-keys && ./gen-rsa-keys "$private_count" private-keys 1 private
  cat private-keys/moduli-*.txt > private-moduli.txt
  echo "$private_count" > private-keys.done
fi
half_dirs=$(find keys -mindepth 1 -maxdepth 1 -type d | sort | head -n $(( (count / 2 + 999) / 1000 )))
half_keys=$(for d in $half_dirs; do ls "$d"; done | wc -l)
blocklist="$here/../testdata/debian-weak-sample"
checks=fermat,roca,rsainvalid,sharedprimes,smallfactors,rsawarnings

# best COMMAND: the best wall time of $rounds runs, into $best_s (and the run's stderr in best.err).
best() {
  best_s=""
  for _ in $(seq "$rounds"); do
    /usr/bin/time -f "%e %M" -o time.txt bash -c "$1" >/dev/null 2>run.err || { cat run.err >&2; echo "failed: $1" >&2; exit 1; }
    read -r s kib < time.txt
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_kib=$kib; cp run.err best.err; fi
  done
}

# `rehost check` exits 1 when it has findings; these keys have none but the warning that
# no list covers RSA-2048... which the sample list does, so a clean run exits 0.
best "REHOST_TIMINGS=1 '$rehost' check keys --blocklist '$blocklist' --no-standard-blocklists"
ours_s=$best_s; ours_kib=$best_kib
ours_timing=$(grep '^timing:' best.err)
best "badkeys -c $checks -m moduli.txt"
ref_s=$best_s; ref_kib=$best_kib
best "REHOST_TIMINGS=1 '$rehost' check $(echo $half_dirs) --blocklist '$blocklist' --no-standard-blocklists"
half_s=$best_s
half_gcd=$(sed -n 's/.*batch gcd and report \([0-9.]*\) s.*/\1/p' best.err)

best "REHOST_TIMINGS=1 '$rehost' check private-keys --blocklist '$blocklist' --no-standard-blocklists"
private_s=$best_s; private_kib=$best_kib
private_timing=$(grep '^timing:' best.err)
best "badkeys -c $checks -m private-moduli.txt"
private_ref_s=$best_s; private_ref_kib=$best_kib

echo
echo "rehost check bench: $count RSA-2048 public keys (PEM files), $(nproc) cores, best of $rounds"
awk -v n="$count" -v os="$ours_s" -v ok="$ours_kib" -v rs="$ref_s" -v rk="$ref_kib" 'BEGIN {
  printf "all checks   rehost %6.2f s %7.0f keys/s %6.1f MiB peak | badkeys -m %6.2f s %7.0f keys/s %6.1f MiB | speed ratio %.2f\n",
    os, n/os, ok/1024, rs, n/rs, rk/1024, rs/os }'
echo "             rehost $ours_timing"
awk -v n="$half_keys" -v s="$half_s" -v g="$half_gcd" 'BEGIN {
  printf "batch GCD    %d moduli: %.2f s (whole check of them %.2f s; target: under 60 s)\n", n, g, s }'
awk -v n="$private_count" -v os="$private_s" -v ok="$private_kib" -v rs="$private_ref_s" -v rk="$private_ref_kib" 'BEGIN {
  printf "private keys rehost %6.2f s %7.0f keys/s %6.1f MiB peak | badkeys -m %6.2f s %7.0f keys/s %6.1f MiB | speed ratio %.2f (target 50)\n",
    os, n/os, ok/1024, rs, n/rs, rk/1024, rs/os }'
echo "             rehost $private_timing"
