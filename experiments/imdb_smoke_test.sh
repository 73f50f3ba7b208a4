#!/usr/bin/env bash
# Runs each IMDB experiment for one epoch on a tiny data set in the original layout, written
# here, and checks what it prints; then checks the message when the data is missing.
set -euo pipefail
out="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }

data="$out/data"
source experiments/tiny_imdb.sh
write_tiny_imdb "$data"

for binary in "$@"; do
  name="$(basename "$binary")"
  log="$out/$name.log"
  "$binary" --epochs=1 --batch_size=4 --max_review_length=12 --top_words=20 --data_dir="$data" \
      >"$log" 2>&1 || { cat "$log"; fail "$name exited non-zero"; }
  grep -q "^Loaded 12 training and 12 test reviews" "$log" || { cat "$log"; fail "$name: no load line"; }
  grep -q "^Total params:" "$log" || fail "$name printed no summary"
  grep -q "^12/12 .* - loss: [0-9.]* - accuracy: [0-9.]*$" "$log" || { cat "$log"; fail "$name: no epoch line"; }
  grep -q "^Seconds per epoch: [0-9]*\.[0-9]$" "$log" || { cat "$log"; fail "$name: no seconds per epoch"; }
  tail -n 1 "$log" | grep -q "^Accuracy: [0-9]*\.[0-9][0-9]%$" || { cat "$log"; fail "$name: last line is not the accuracy"; }
  case "$name" in
    *_masked)
      # Both runs side by side; the model's mask and the bucketing change nothing else.
      "$binary" --epochs=1 --batch_size=4 --max_review_length=12 --top_words=20 --data_dir="$data" \
          --compare_unmasked >"$log" 2>&1 || { cat "$log"; fail "$name --compare_unmasked exited non-zero"; }
      grep -q "^masked, bucketed  *[0-9.]*% *[0-9.]*$" "$log" || { cat "$log"; fail "$name: no masked row"; }
      grep -q "^unmasked  *[0-9.]*% *[0-9.]*$" "$log" || { cat "$log"; fail "$name: no unmasked row"; }
      [ "$(grep -c "^Seconds per epoch" "$log")" = 2 ] || { cat "$log"; fail "$name: expected two runs"; }
      ;;
    *)
      if "$binary" --compare_unmasked --data_dir="$data" >"$log" 2>&1; then fail "$name accepted --compare_unmasked"; fi
      grep -q "compare_unmasked is for the masked experiments" "$log" || { cat "$log"; fail "$name: no reason"; }
      ;;
  esac
done

# Keras' mixed_bfloat16 policy: trains and scores as float32 does. Where the processor lacks
# AVX512-BF16 (its flags in /proc/cpuinfo say so) it says so in one line and runs float32, the same
# numbers; mixed_bfloat16_anywhere runs bfloat16's numbers anyway (oneDNN emulates them).
tiny=(--epochs=1 --batch_size=4 --max_review_length=12 --top_words=20 --data_dir="$data")
"$1" "${tiny[@]}" >"$out/float32.log" 2>&1 || { cat "$out/float32.log"; fail "float32 run failed"; }
for precision in bfloat16 mixed_bfloat16_anywhere; do
  "$1" "${tiny[@]}" --mixed_precision=$precision >"$out/$precision.log" 2>&1 ||
    { cat "$out/$precision.log"; fail "--mixed_precision=$precision exited non-zero"; }
  tail -n 1 "$out/$precision.log" | grep -q "^Accuracy: [0-9]*\.[0-9][0-9]%$" ||
    { cat "$out/$precision.log"; fail "--mixed_precision=$precision: no accuracy"; }
done
if grep -qw avx512_bf16 /proc/cpuinfo; then
  if grep -q "has neither AVX512-BF16 nor AMX" "$out/bfloat16.log"; then
    fail "--mixed_precision=bfloat16 fell back on a processor with AVX512-BF16"
  fi
else
  [ "$(grep -c "^mixed_bfloat16: .* has neither AVX512-BF16 nor AMX; the products run in float32$" "$out/bfloat16.log")" = 1 ] ||
    { cat "$out/bfloat16.log"; fail "--mixed_precision=bfloat16: no one-line fallback"; }
  [ "$(tail -n 1 "$out/bfloat16.log")" = "$(tail -n 1 "$out/float32.log")" ] ||
    fail "the fallback's accuracy differs from float32's"
fi
if grep -qw avx512f /proc/cpuinfo; then
  grep -q "has no AVX-512" "$out/mixed_bfloat16_anywhere.log" && fail "mixed_bfloat16_anywhere fell back"
fi

# --save, then --resume with no epoch left: says so, scores the model as loaded, exit 0.
tiny=(--batch_size=4 --max_review_length=12 --top_words=20 --data_dir="$data")
"$1" "${tiny[@]}" --epochs=1 --save="$out/model.h5" >"$out/saved.log" 2>&1 ||
  { cat "$out/saved.log"; fail "--save exited non-zero"; }
for epochs in 1; do
  "$1" "${tiny[@]}" --epochs=$epochs --resume="$out/model.h5" >"$out/done.log" 2>&1 ||
    { cat "$out/done.log"; fail "--resume with nothing to train exited non-zero"; }
  grep -qx "Nothing to train: the model in $out/model.h5 has had 1 epoch(s), and --epochs=$epochs asks for no more (raise --epochs to train on); scoring it as loaded" "$out/done.log" ||
    { cat "$out/done.log"; fail "no nothing-to-train line"; }
  [ "$(tail -n 1 "$out/done.log")" = "$(tail -n 1 "$out/saved.log")" ] ||
    { cat "$out/done.log"; fail "the loaded model's accuracy is not the saved one's"; }
done
# --save onto a FIFO, a directory or a (private) device node: refused before training, the node
# left as it was.
mkfifo "$out/fifo"
mkdir -p "$out/dir"
targets=("$out/fifo:a FIFO (named pipe)" "$out/dir:a directory")
if mknod "$out/null" c 1 3 2>/dev/null; then targets+=("$out/null:a character device"); fi
for target in "${targets[@]}"; do
  path="${target%%:*}" kind="${target#*:}"
  if "$1" "${tiny[@]}" --epochs=1 --save="$path" >"$out/bad_save.log" 2>&1; then
    fail "--save=$path was accepted"
  fi
  [ "$(tail -n 1 "$out/bad_save.log")" = "error: --save: cannot write '$path': it is $kind, and only a regular file may be replaced: choose a file name" ] ||
    { cat "$out/bad_save.log"; fail "--save=$path: wrong message"; }
  grep -q "^Epoch\|loss:" "$out/bad_save.log" && { cat "$out/bad_save.log"; fail "--save=$path: trained first"; }
done
[ -p "$out/fifo" ] && [ -d "$out/dir" ] || fail "a --save target was replaced"
[ ! -e "$out/null" ] || [ -c "$out/null" ] || fail "the device node was replaced"

# A save past the file-size limit (ulimit -f, 64 KB): exit 1 with one message, no temporary left,
# no crash at exit (HDF5 never touches the failing file: it builds the file in memory).
mkdir -p "$out/limited"
set +e
( ulimit -f 64; exec "$1" "${tiny[@]}" --epochs=1 --save="$out/limited/m.h5" ) >"$out/limited.log" 2>&1
code=$?
set -e
[ "$code" -eq 1 ] || { cat "$out/limited.log"; fail "--save past ulimit -f: exit $code, expected 1"; }
[ "$(tail -n 1 "$out/limited.log")" = "error: fit: after epoch 1: writing '$out/limited/m.h5' failed: File too large (the file-size limit of this process, ulimit -f, is reached); nothing was written under that name" ] ||
  { cat "$out/limited.log"; fail "--save past ulimit -f: wrong message"; }
[ -z "$(ls -A "$out/limited")" ] || fail "--save past ulimit -f left: $(ls -A "$out/limited")"

# Missing data: one clear message naming the fetch command, non-zero exit.
if "$1" --data_dir="$out/nowhere" >"$out/missing.log" 2>&1; then fail "expected a failure without data"; fi
grep -q "bazel run //tools:fetch_data" "$out/missing.log" || { cat "$out/missing.log"; fail "no fetch hint"; }
echo "smoke: all IMDB experiments ran"
