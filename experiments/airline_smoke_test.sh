#!/usr/bin/env bash
# Runs each airline experiment for two epochs on a tiny Tweets.csv written here, and the
# from-scratch walk-throughs for a few epochs; checks what they print and write.
set -euo pipefail
out="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }

data="$out/data"
mkdir -p "$data"
{
  echo 'tweet_id,airline_sentiment,airline,text'
  for i in $(seq 1 20); do
    echo "$i,negative,United,\"@united delayed again, lost my bag #$i\""
    echo "$((i + 100)),positive,Delta,\"@delta great crew, thanks \"\"so much\"\"\""
    echo "$((i + 200)),neutral,Delta,what time is it"
  done
  printf '999,positive,Delta,"multi\nline thanks"'  # no final newline
} > "$data/Tweets.csv"

airline=()
scratch=()
for binary in "$@"; do
  case "$(basename "$binary")" in airline_*) airline+=("$binary") ;; *) scratch+=("$binary") ;; esac
done

for binary in "${airline[@]}"; do
  name="$(basename "$binary")"
  log="$out/$name.log"
  "$binary" --epochs=2 --batch_size=8 --data_dir="$data" --out_dir="$out" >"$log" 2>&1 ||
    { cat "$log"; fail "$name exited non-zero"; }
  grep -q "20 neutral tweets dropped, 41 left: 20 negative (0), 21 positive (1). Majority-class baseline: 48.8%" "$log" ||
    { cat "$log"; fail "$name: no data line"; }
  grep -q "^Total params:" "$log" || fail "$name printed no summary"
  grep -q "val_loss: [0-9.]* - val_accuracy: [0-9.]*$" "$log" || { cat "$log"; fail "$name: no validation"; }
  grep -q "^Best test accuracy: [0-9.]*% at epoch [12] of 2$" "$log" || { cat "$log"; fail "$name: no best epoch"; }
  grep -q "^Accuracy: [0-9]*\.[0-9][0-9]%$" "$log" || { cat "$log"; fail "$name: no accuracy line"; }
  # The plot comes last: the numbers are out before the plotter runs.
  tail -n 1 "$log" | grep -qx "Wrote $out/$name.png" || { cat "$log"; fail "$name: last line is not the plot"; }
  [ "$(head -n 1 "$out/$name.csv")" = "epoch,loss,val_loss,accuracy,val_accuracy" ] || fail "$name: CSV header"
  [ "$(wc -l <"$out/$name.csv")" -eq 3 ] || fail "$name: CSV rows"
  head -c 8 "$out/$name.png" | od -An -c | grep -q 'P   N   G' || fail "$name: not a PNG"
done

# --save after epoch 1, then --resume in a new process up to epoch 2: the same model as 2 epochs
# at once, so the same accuracy to the last digit; and --early_stopping runs to the end.
first="${airline[0]}"
name="$(basename "$first")"
common=(--batch_size=8 --data_dir="$data" --out_dir="$out/resumed")
"$first" "${common[@]}" --epochs=1 --save="$out/resumed/model.h5" >"$out/first.log" 2>&1 ||
  { cat "$out/first.log"; fail "$name --save exited non-zero"; }
"$first" "${common[@]}" --epochs=2 --resume="$out/resumed/model.h5" >"$out/resumed.log" 2>&1 ||
  { cat "$out/resumed.log"; fail "$name --resume exited non-zero"; }
grep -qx "Resuming $out/resumed/model.h5 after 1 epoch(s)" "$out/resumed.log" ||
  { cat "$out/resumed.log"; fail "$name: no resume line"; }
[ "$(grep '^Accuracy' "$out/resumed.log")" = "$(grep '^Accuracy' "$out/$name.log")" ] ||
  fail "$name: resumed accuracy differs from the straight run's"
# Resumed with no epoch left: says so, scores the model as loaded (the accuracy it had), exit 0.
for epochs in 1; do
  "$first" "${common[@]}" --epochs=$epochs --resume="$out/resumed/model.h5" >"$out/done.log" 2>&1 ||
    { cat "$out/done.log"; fail "$name --resume with nothing to train exited non-zero"; }
  grep -qx "Nothing to train: the model in $out/resumed/model.h5 has had 1 epoch(s), and --epochs=$epochs asks for no more (raise --epochs to train on); scoring it as loaded" "$out/done.log" ||
    { cat "$out/done.log"; fail "$name: no nothing-to-train line"; }
  [ "$(tail -n 1 "$out/done.log")" = "$(grep '^Accuracy' "$out/first.log")" ] ||
    { cat "$out/done.log"; fail "$name: the loaded model's accuracy is not the saved one's"; }
done
"$first" "${common[@]}" --epochs=6 --early_stopping >"$out/stopping.log" 2>&1 ||
  { cat "$out/stopping.log"; fail "$name --early_stopping exited non-zero"; }
grep -q "^Accuracy: [0-9]*\.[0-9][0-9]%$" "$out/stopping.log" || fail "$name: early stopping run"
"$first" "${common[@]}" --epochs=1 --save="$out/no/such/dir/model.h5" >"$out/bad_save.log" 2>&1 &&
  fail "$name: a --save into a missing directory was accepted"
grep -q "^error: --save=" "$out/bad_save.log" || { cat "$out/bad_save.log"; fail "$name: bad --save"; }

for binary in "${scratch[@]}"; do
  name="$(basename "$binary")"
  log="$out/$name.log"
  "$binary" --epochs=20 >"$log" 2>&1 || { cat "$log"; fail "$name: hand computation disagrees or run failed"; }
  grep -q "^word_to_int: {'is': 1, 'an': 2, 'this,': 3, 'example': 4}$" "$log" || fail "$name: word indices"
  grep -q "^encoded_docs: \[\[3, 1\], \[1, 2\]\]$" "$log" || fail "$name: encoded docs"
  tail -n 1 "$log" | grep -q "^max |hand - predict| = " || fail "$name: last line"
done

# Missing data: one clear message naming the fetch command.
if "${airline[0]}" --data_dir="$out/nowhere" >"$out/missing.log" 2>&1; then fail "expected a failure without data"; fi
grep -q "bazel run //tools:fetch_data" "$out/missing.log" || { cat "$out/missing.log"; fail "no fetch hint"; }
echo "smoke: all airline and from-scratch experiments ran"
