#!/usr/bin/env bash
# Runs communicator_main on 2 processes with mpirun (as root too: Open MPI's documented
# --allow-run-as-root), checks the collective results, then makes rank 1 fail on purpose and
# checks that the whole job stops, quickly, with a message naming the rank and the cause; then
# that a rank arriving late within the collective timeout is waited for, and that a stopped rank
# ends the job once the timeout has passed, named by the other.
set -euo pipefail
# Containers often forbid the cross-process memory copies Open MPI's shared-memory transport
# would use for large messages; these tests send small ones, so none is lost by turning it off.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Under --config=asan the ranks keep AddressSanitizer's memory checks but not its leak check:
# Open MPI leaves thousands of its own allocations at MPI_Finalize, from plugins already unloaded
# (no module name to suppress them by). Our code's leaks are checked by the single-process tests.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
main="$1"
fail() { echo "FAIL: $*" >&2; exit 1; }
mpirun_flags=(--allow-run-as-root --oversubscribe -np 2)
out="${TEST_TMPDIR:-$(mktemp -d)}"

"$main" >"$out/alone.log" 2>&1 || { cat "$out/alone.log"; fail "alone: non-zero exit"; }
grep -q "^alone: no MPI job$" "$out/alone.log" || { cat "$out/alone.log"; fail "alone: no line"; }

timeout 60 mpirun "${mpirun_flags[@]}" "$main" >"$out/ok.log" 2>&1 || { cat "$out/ok.log"; fail "mpirun exited non-zero"; }
for rank in 0 1; do
  grep -q "^rank $rank of 2: broadcast and allreduce of 1000 values agree$" "$out/ok.log" || { cat "$out/ok.log"; fail "rank $rank"; }
done

start=$SECONDS
if timeout 60 mpirun "${mpirun_flags[@]}" "$main" --fail_rank=1 >"$out/fail.log" 2>&1; then
  cat "$out/fail.log"; fail "a failing rank left the job exit 0"
fi
[ $((SECONDS - start)) -lt 30 ] || fail "the job took $((SECONDS - start)) s to stop"
grep -q "^rank 1 of 2: cannot read data/aclImdb/train: no such directory (on purpose)$" "$out/fail.log" || { cat "$out/fail.log"; fail "no message naming rank 1 and the cause"; }

# A rank that arrives late, within the collective timeout, is waited for.
timeout 60 mpirun "${mpirun_flags[@]}" "$main" --timeout_s=3 --late_rank=1 --late_s=1 >"$out/late.log" 2>&1 ||
  { cat "$out/late.log"; fail "a rank 1 s late, with a timeout of 3 s: mpirun exited non-zero"; }
grep -q "^rank 0 of 2: broadcast and allreduce of 1000 values agree$" "$out/late.log" || { cat "$out/late.log"; fail "late rank: no result"; }

# A rank that is stopped (SIGSTOP: alive, so MPI never notices) holds the others only for the
# collective timeout: then the job ends, naming it. The stopped rank writes its process id first,
# so that it is cleaned up here whatever happens.
pid_file="$out/stopped.pid"
# The stopped rank, if mpirun left it: continued, then killed (only if it is still ours).
release() {
  local pid
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  if grep -q "communicator_main" "/proc/$pid/cmdline" 2>/dev/null; then
    kill -CONT "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  fi
}
rm -f "$pid_file"
start=$SECONDS
status=0
timeout 60 mpirun "${mpirun_flags[@]}" "$main" --timeout_s=2 --stop_rank=1 --pid_file="$pid_file" >"$out/stop.log" 2>&1 || status=$?
elapsed=$((SECONDS - start))
release "$pid_file"
[ "$status" -ne 0 ] || { cat "$out/stop.log"; fail "a stopped rank left the job exit 0"; }
[ "$status" -ne 124 ] || { cat "$out/stop.log"; fail "a stopped rank hung the job (killed after 60 s)"; }
[ -s "$pid_file" ] || { cat "$out/stop.log"; fail "rank 1 did not stop itself"; }
grep -q "^rank 0 of 2: rank 1 did not reach collective #1 (broadcast) within 2 s: it is stopped, hung or far slower; ending the job$" "$out/stop.log" ||
  { cat "$out/stop.log"; fail "no message naming the stopped rank 1"; }
[ "$elapsed" -ge 2 ] || fail "the job ended after $elapsed s, before the timeout of 2 s"
[ "$elapsed" -lt 15 ] || fail "the job took $elapsed s to end after a timeout of 2 s"

# On 3 ranks with rank 2 stopped, the others ask each other too: each answers that it has
# reached the collective, so that only rank 2 is named (by rank 0, rank 1 or both).
rm -f "$pid_file"
start=$SECONDS
status=0
timeout 60 mpirun --allow-run-as-root --oversubscribe -np 3 "$main" --timeout_s=2 --stop_rank=2 --pid_file="$pid_file" >"$out/stop3.log" 2>&1 || status=$?
elapsed=$((SECONDS - start))
release "$pid_file"
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { cat "$out/stop3.log"; fail "3 ranks, rank 2 stopped: exit $status"; }
grep -Eq "^rank [01] of 3: rank 2 did not reach collective #[0-9]+ \((broadcast|allreduce)\) within 2 s: it is stopped, hung or far slower; ending the job$" "$out/stop3.log" ||
  { cat "$out/stop3.log"; fail "3 ranks: no message naming the stopped rank 2 alone"; }
! grep -q "did not reach" <(grep -v "^rank [01] of 3: rank 2 did not reach" "$out/stop3.log") || { cat "$out/stop3.log"; fail "3 ranks: another rank named"; }
[ "$elapsed" -lt 20 ] || fail "3 ranks: the job took $elapsed s to end after a timeout of 2 s"
echo "communicator: collectives agree; a failing rank stops the job; a stopped rank ends it after the timeout"
