#!/usr/bin/env bash
# The IMDB experiments under mpirun -np 2 (as root too: Open MPI's documented --allow-run-as-root)
# on a tiny data set: one model trained by both ranks, reported and saved once by rank 0; a
# batch the ranks cannot share, a rank that cannot load its data, a rank started with other flags
# and a rank stopped during training end the whole job, quickly, naming the rank and the cause.
set -euo pipefail
# Containers often forbid the cross-process memory copies Open MPI's shared-memory transport
# would use for large messages; these tests send small ones, so none is lost by turning it off.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Under --config=asan the ranks keep AddressSanitizer's memory checks but not its leak check:
# Open MPI leaves thousands of its own allocations at MPI_Finalize, from plugins already unloaded
# (no module name to suppress them by). Our code's leaks are checked by the single-process tests.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
out="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }
# A failing job may have trained for minutes: its last lines say enough.
show() { tail -n 40 "$1"; }
mpirun_2=(timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2)

data="$out/data"
source experiments/tiny_imdb.sh
write_tiny_imdb "$data"
tiny=(--epochs=2 --batch_size=4 --max_review_length=12 --top_words=20 --data_dir="$data")

for binary in "$@"; do
  name="$(basename "$binary")"
  log="$out/$name.log"
  # Alone, nothing needs MPI: the binary does not link it (Open MPI is loaded only under mpirun).
  ! ldd "$binary" | grep -q "libmpi" || fail "$name links libmpi"
  rm -f "$out/model.h5"
  "${mpirun_2[@]}" "$binary" "${tiny[@]}" --save="$out/model.h5" >"$log" 2>&1 ||
    { show "$log"; fail "$name: mpirun exited non-zero"; }
  # mpirun gives ranks a terminal, so rank 0 draws a progress bar: one line per update here.
  tr '\r' '\n' <"$log" | sed 's/\x1b\[K//g' >"$log.lines" && mv "$log.lines" "$log"
  # Rank 0 alone reports: one of each line.
  [ "$(grep -c "^Loaded 12 training and 12 test reviews" "$log")" = 1 ] || { show "$log"; fail "$name: not one load line"; }
  grep -q "^Data-parallel on 2 processes (mpirun): each trains on 6 of the 12 training reviews, and each step on 2 of a batch's 4$" "$log" ||
    { show "$log"; fail "$name: no data-parallel line"; }
  [ "$(grep -c "^12/12 .* - loss: [0-9.]* - accuracy: [0-9.]*$" "$log")" = 2 ] || { show "$log"; fail "$name: not two epoch lines of 12 samples"; }
  [ "$(grep -c "^Accuracy: [0-9]*\.[0-9][0-9]%$" "$log")" = 1 ] || { show "$log"; fail "$name: not one accuracy line"; }
  [ -s "$out/model.h5" ] || fail "$name: rank 0 saved no model"
done

binary="$1"
log="$out/odd_batch.log"
start=$SECONDS
if "${mpirun_2[@]}" "$binary" "${tiny[@]}" --batch_size=5 >"$log" 2>&1; then fail "batch 5 on 2 ranks was accepted"; fi
grep -q "^rank [01] of 2: fit: batch_size 5 is not a multiple of the 2 processes of the job, which take equal shares of every batch: use 4 or 6$" "$log" ||
  { show "$log"; fail "no message for batch 5"; }

log="$out/failing_rank.log"
if timeout 120 mpirun --allow-run-as-root --oversubscribe -np 1 "$binary" "${tiny[@]}" : \
    -np 1 "$binary" "${tiny[@]}" --data_dir="$out/missing" >"$log" 2>&1; then
  fail "a rank without data left the job exit 0"
fi
grep -q "^rank 1 of 2: IMDB data in '$out/missing/aclImdb': missing folder" "$log" ||
  { show "$log"; fail "no message naming rank 1 and the missing data"; }
[ $((SECONDS - start)) -lt 60 ] || fail "the failing jobs took $((SECONDS - start)) s to stop"

# Ranks started with other flags: the job ends before any work, naming the flag and both values
# (a longer review trained silently, a larger vocabulary ended in MPI_ERR_TRUNCATE).
for flag in --max_review_length=10 --seed=8 --top_words=30; do
  name="${flag%%=*}"
  log="$out/flags${name}.log"
  status=0
  timeout 120 mpirun --allow-run-as-root --oversubscribe -np 1 "$binary" "${tiny[@]}" : \
    -np 1 "$binary" "${tiny[@]}" "$flag" >"$log" 2>&1 || status=$?
  [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { show "$log"; fail "$flag on rank 1 only: exit $status"; }
  case "$name" in
    --max_review_length) expected="--max_review_length is 10 here but 12 on rank 0" ;;
    --seed) expected="--seed is 8 here but 7 on rank 0" ;;
    --top_words) expected="--top_words is 30 here but 20 on rank 0" ;;
  esac
  grep -q "^rank 1 of 2: $expected: start every rank with the same flags$" "$log" ||
    { show "$log"; fail "$flag on rank 1 only: no message naming the flag and both values"; }
  ! grep -q "^Loaded" "$log" || { show "$log"; fail "$flag on rank 1 only: rank 0 loaded the data"; }
done

# A rank stopped during training (SIGSTOP: alive, so MPI never notices) ends the job after
# --collective_timeout_s, named by rank 0. Each rank starts through a shell that writes its pid
# (the binary's, after exec) to a file named by its rank, so rank 1 is found at once.
log="$out/stopped.log"
pids="$out/pids"
mkdir -p "$pids"
timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 \
  bash -c 'echo $$ >"$0/rank_$OMPI_COMM_WORLD_RANK.tmp" && mv "$0/rank_$OMPI_COMM_WORLD_RANK.tmp" "$0/rank_$OMPI_COMM_WORLD_RANK" && exec "$@"' \
  "$pids" "$binary" "${tiny[@]}" --epochs=100000 --collective_timeout_s=2 >"$log" 2>&1 &
job=$!
stopped=""
for _ in $(seq 600); do
  if [ -s "$pids/rank_1" ] && grep -q "Epoch 2/100000" "$log"; then
    stopped="$(cat "$pids/rank_1")"
    kill -STOP "$stopped"
    break
  fi
  sleep 0.1
done
start=$SECONDS
status=0
wait "$job" || status=$?
elapsed=$((SECONDS - start))
if [ -n "$stopped" ]; then
  kill -CONT "$stopped" 2>/dev/null || true
  kill -KILL "$stopped" 2>/dev/null || true
fi
tr '\r' '\n' <"$log" | sed 's/\x1b\[K//g' >"$log.lines" && mv "$log.lines" "$log"
[ -n "$stopped" ] || { show "$log"; fail "no rank 1 found training"; }
[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || { show "$log"; fail "a stopped rank: exit $status"; }
grep -q "rank 0 of 2: rank 1 did not reach collective #[0-9]* (allreduce) within 2 s: it is stopped, hung or far slower; ending the job$" "$log" ||
  { show "$log"; fail "no message naming the stopped rank 1"; }
[ "$elapsed" -lt 15 ] || fail "the job took $elapsed s to end after a timeout of 2 s"

log="$out/one.log"
timeout 120 mpirun --allow-run-as-root -np 1 "$binary" "${tiny[@]}" >"$log" 2>&1 || { show "$log"; fail "mpirun -np 1 exited non-zero"; }
! grep -q "^Data-parallel" "$log" || fail "mpirun -np 1 claimed to be data-parallel"
grep -q "^Accuracy:" "$log" || { show "$log"; fail "mpirun -np 1: no accuracy"; }
echo "IMDB experiments train data-parallel under mpirun; failures end the job"
