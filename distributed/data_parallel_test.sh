#!/usr/bin/env bash
# Runs data_parallel_main on 2 processes with mpirun (as root too: Open MPI's documented
# --allow-run-as-root) and checks that every rank passed every check.
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
out="${TEST_TMPDIR:-$(mktemp -d)}"
if ! timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 "$main" >"$out/run.log" 2>&1; then
  cat "$out/run.log"; fail "mpirun exited non-zero"
fi
cat "$out/run.log"
! grep -q "FAILED" "$out/run.log" || fail "a check failed"
for rank in 0 1; do
  count=$(grep -c "^rank $rank of 2: .*: ok" "$out/run.log" || true)
  [ "$count" -eq 19 ] || fail "rank $rank passed $count checks, not 19"
done
echo "data-parallel training on 2 ranks matches 1 process"
