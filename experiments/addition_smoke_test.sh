#!/usr/bin/env bash
# Runs //experiments:addition_rnn on 2,000 questions for two epochs; checks what it prints and
# writes, the saved model (read back by //tools:summary), --stop_at_accuracy and bad flags.
set -euo pipefail
addition="$1"
summary="$2"
out="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }

log="$out/run.log"
"$addition" --examples=2000 --epochs=2 --verbose=2 --seed=3 --out_dir="$out" \
  --save="$out/addition.h5" >"$log" 2>&1 || { cat "$log"; fail "exited non-zero"; }
cat "$log"
expect_line() { grep -qxF -- "$1" "$log" || fail "missing line: $1"; }
expect_line "Total questions: 2000"
# A tenth held out: 2000 // 10 = 200; questions 3 + 1 + 3 = 7 characters, answers 3 + 1 = 4, of
# the 12 characters " +0123456789".
expect_line "Training Data: x (1800, 7, 12), y (1800, 4, 12)"
expect_line "Validation Data: x (200, 7, 12), y (200, 4, 12)"
# LSTM(128) on 12 features: 4 * 128 * (12 + 128 + 1) = 72192; on 128: 4 * 128 * (128 + 128 + 1)
# = 131584; Dense(12) on 128: 128 * 12 + 12 = 1548; in all 205324.
grep -qE '^lstm \(LSTM\) +\(None, 128\) +72192 *$' "$log" || fail "encoder row"
grep -qE '^repeat_vector \(RepeatVector\) +\(None, 4, 128\) +0 *$' "$log" || fail "RepeatVector row"
grep -qE '^lstm_1 \(LSTM\) +\(None, 4, 128\) +131584 *$' "$log" || fail "decoder row"
grep -qE '^dense \(Dense\) +\(None, 4, 12\) +1548 *$' "$log" || fail "Dense row"
expect_line "Total params: 205,324"

# One accuracy line per epoch, its characters agreeing with Keras' val_accuracy of the progress
# line above it (two computations: Evaluate's metric and the callback's arg maxes).
[ "$(grep -c '^Epoch [12]: validation [0-9.]*% of characters, [0-9.]*% of answers ([0-9.]* s)$' "$log")" -eq 2 ] ||
  fail "expected two per-epoch accuracy lines"
awk '/ - val_accuracy: / { keras = 100 * $NF }
     /^Epoch [0-9]+: validation / { mine = $4; sub("%", "", mine);
       if (keras == "" || mine - keras > 0.0101 || keras - mine > 0.0101) { print "differ: " keras " " mine; bad = 1 }
       keras = "" }
     END { exit bad }' "$log" || fail "the callback's character accuracy is not Keras' val_accuracy"

# Ten decoded questions as Keras prints them: Q <question, read forwards> T <answer> mark <guess>,
# the mark a ballot box with a check exactly when the guess is the answer.
[ "$(grep -cE '^Q [0-9]+\+[0-9]+ * T [0-9]+ * (☑|☒) [0-9+ ]{4}$' "$log")" -eq 10 ] ||
  fail "expected 10 decoded questions"
pattern='^Q ([0-9]+)\+([0-9]+) +T (.{4}) (☑|☒) (.{4})$'
while IFS= read -r line; do
  [[ "$line" =~ $pattern ]] || fail "not a decoded question: $line"
  a="${BASH_REMATCH[1]}"; b="${BASH_REMATCH[2]}"; target="${BASH_REMATCH[3]}"
  mark="${BASH_REMATCH[4]}"; guess="${BASH_REMATCH[5]}"
  [ "$((10#$a + 10#$b))" = "${target%% *}" ] || fail "wrong answer in: $line"
  if [ "$guess" = "$target" ]; then want="☑"; else want="☒"; fi
  [ "$mark" = "$want" ] || fail "wrong mark in: $line"
done < <(grep -E '^Q ' "$log")

grep -qE '^Seconds per epoch: [0-9]+\.[0-9] \(mean of 2\)$' "$log" || fail "no seconds per epoch"
# The last line: exactly this form, and the last epoch's numbers.
last="$(tail -n 1 "$log")"
[[ "$last" =~ ^Validation\ accuracy:\ [0-9]{1,3}\.[0-9]{2}%\ of\ characters,\ [0-9]{1,3}\.[0-9]{2}%\ of\ answers$ ]] ||
  fail "last line: $last"
epoch2="$(grep '^Epoch 2: validation' "$log" | sed 's/^Epoch 2: validation //; s/ (.*//')"
[ "$last" = "Validation accuracy: $epoch2" ] || fail "last line is not epoch 2's: $last / $epoch2"

[ "$(head -n 1 "$out/addition_rnn.csv")" = "epoch,loss,val_loss,accuracy,val_accuracy,val_answer_accuracy" ] ||
  fail "CSV header"
[ "$(wc -l <"$out/addition_rnn.csv")" -eq 3 ] || fail "CSV rows"
head -c 8 "$out/addition_rnn.png" | od -An -c | grep -q 'P   N   G' || fail "not a PNG"

# The saved model: the same layers, compiled as Keras' listing, two epochs trained.
"$summary" --model="$out/addition.h5" >"$out/summary.txt" || fail "//tools:summary cannot read it"
grep -qE '^lstm_1 \(LSTM\) +\(None, 4, 128\) +131584 *$' "$out/summary.txt" || fail "saved layers"
grep -qxF '  loss: categorical_crossentropy' "$out/summary.txt" || fail "saved loss"
grep -qxF '  epochs trained: 2' "$out/summary.txt" || fail "saved epochs"

# The same seed gives the same run.
"$addition" --examples=2000 --epochs=2 --verbose=0 --seed=3 --out_dir="$out/again" >"$out/again.log" 2>&1 ||
  { cat "$out/again.log"; fail "second run exited non-zero"; }
[ "$(tail -n 1 "$out/again.log")" = "$last" ] || fail "same seed, another result"

# --stop_at_accuracy: any accuracy reaches 0.0001 (at least 1 character in 800 right), so
# training stops after epoch 1 of 5.
"$addition" --examples=2000 --epochs=5 --verbose=0 --stop_at_accuracy=0.0001 --out_dir="$out/stop" \
  >"$out/stop.log" 2>&1 || { cat "$out/stop.log"; fail "--stop_at_accuracy run exited non-zero"; }
grep -qE '^Reached [0-9.]+% of characters \(--stop_at_accuracy=0.0001\): stopping$' "$out/stop.log" ||
  { cat "$out/stop.log"; fail "no stop line"; }
grep -qxF "0.01% of validation characters reached after epoch 1" "$out/stop.log" || fail "no reached line"
[ "$(wc -l <"$out/stop/addition_rnn.csv")" -eq 2 ] || fail "stopped run: CSV rows"

# Bad command lines: exit code 2, one line naming the flag.
expect_usage_error() {  # expected message, flags...
  local message="$1"; shift
  local code=0
  "$addition" "$@" --out_dir="$out/bad" >"$out/bad.log" 2>&1 || code=$?
  [ "$code" -eq 2 ] || { cat "$out/bad.log"; fail "$*: exit code $code, expected 2"; }
  grep -qF -- "$message" "$out/bad.log" || { cat "$out/bad.log"; fail "$*: no '$message'"; }
}
expect_usage_error "expected a number in [0, 1]" --stop_at_accuracy=1.5
expect_usage_error "--examples=56: numbers of at most --digits=1 digit(s) make only 55 distinct questions" \
  --examples=56 --digits=1
expect_usage_error "--save" --save="$out/no/such/dir/model.h5"
# 100,000,000 questions were accepted, and their one-hot arrays need 139 GB at --digits=9.
expect_usage_error "expected an integer in [10, 2000000]" --examples=2000001 --digits=1
echo "smoke: addition_rnn ran"
