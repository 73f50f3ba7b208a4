#!/usr/bin/env bash
# Runs communicator_main on 2 processes with mpirun (as root too: Open MPI's documented
# --allow-run-as-root), checks the collective results, then makes rank 1 fail on purpose and
# checks that the whole job stops, quickly, with a message naming the rank and the cause.
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
echo "communicator: collectives agree; a failing rank stops the job"
