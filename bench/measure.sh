# measure.sh - sourced by the benches: timed runs, the reference and rehost alternating.
#
# once COMMAND: wall time (s) and peak RSS (KiB) of one run, into $run_s, $run_kib. Before
# it, the function before_each (if the bench defines one), then the shell text in $pre
# (e.g. drop the page cache).
once() {
  if declare -F before_each >/dev/null; then before_each; fi
  if [ -n "${pre:-}" ]; then eval "$pre"; fi
  /usr/bin/time -f "%e %M" -o time.txt bash -c "$1" >/dev/null 2>err.txt || { cat err.txt >&2; echo "failed: $1" >&2; exit 1; }
  read -r run_s run_kib < time.txt
}

# compare REF_CMD OURS_CMD: alternate the two, $rounds times each, the reference first in
# odd rounds and rehost first in even ones (on this VM's disk the run after a large write
# can pay for it even after sync); keep each side's best time (with that run's peak RSS)
# in $ref_s $ref_kib $our_s $our_kib.
compare() {
  ref_s=""; our_s=""
  local round
  for round in $(seq "$rounds"); do
    if [ $((round % 2)) = 1 ]; then compare_ref "$1"; compare_ours "$2"; else compare_ours "$2"; compare_ref "$1"; fi
  done
}
# One run of either side, kept when it is that side's best so far.
compare_ref() {
  once "$1"
  if [ -z "$ref_s" ] || awk "BEGIN{exit !($run_s < $ref_s)}"; then ref_s=$run_s; ref_kib=$run_kib; fi
}
compare_ours() {
  once "$1"
  if [ -z "$our_s" ] || awk "BEGIN{exit !($run_s < $our_s)}"; then our_s=$run_s; our_kib=$run_kib; fi
}
