#!/usr/bin/env bash
# seq2seq_attention (with --compare_without_attention) and seq2seq_lstm for one short epoch on
# each task; what they print and write; //tools:decode on the saved file; bad input answered
# with a clear error and nothing written.
#   seq2seq_smoke_test.sh SEQ2SEQ_ATTENTION SEQ2SEQ_LSTM DECODE MODEL_FILE_MAIN
set -euo pipefail
out="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }
attention="$1" lstm="$2" decode="$3" model_file_main="$4"
percent='[0-9]*\.[0-9][0-9]%'

log="$out/attention.log"
"$attention" --task=dates --examples=400 --epochs=1 --latent_dim=16 --batch_size=32 \
  --compare_without_attention --save="$out/dates.h5" --out_dir="$out" >"$log" 2>&1 ||
  { cat "$log"; fail "seq2seq_attention exited non-zero"; }
# The two result lines come last, in this order.
tail -n 2 "$log" | head -n 1 | grep -qx "Exact match (held out), no attention: greedy $percent, beam 4 $percent" ||
  { cat "$log"; fail "no line for the model without attention"; }
tail -n 1 "$log" | grep -qx "Exact match (held out), attention: greedy $percent, beam 4 $percent" ||
  { cat "$log"; fail "no line for the model with attention"; }
grep -q "^Decoding throughput: greedy [0-9]* seq/s batched (40), [0-9]* seq/s one at a time (40); beam 4 " "$log" ||
  { cat "$log"; fail "no throughput line"; }
grep -q "^Task dates: 360 training and 40 held-out pairs" "$log" || { cat "$log"; fail "no data line"; }
for png in seq2seq_lstm_dates.png seq2seq_attention_dates.png seq2seq_attention_dates_attention.png; do
  [ "$(head -c 8 "$out/$png" | od -An -tx1 | tr -d ' ')" = "89504e470d0a1a0a" ] || fail "$png is no PNG"
done
[ -s "$out/dates.h5" ] || fail "--save wrote nothing"

# The saved file alone decodes raw text: one line per text, answer then text.
"$decode" --model="$out/dates.h5" "9 may 2018" "sat, 9 may 2018" >"$out/decoded.txt" ||
  fail "decode exited non-zero"
[ "$(wc -l <"$out/decoded.txt")" -eq 2 ] || { cat "$out/decoded.txt"; fail "decode: not one line per text"; }
grep -q $'\t9 may 2018$' "$out/decoded.txt" || fail "decode: no echo of the text"
# From standard input; a line it cannot decode gets an error line and the run goes on.
printf '9 may 2018\nMay 9\n1/1/99\n' | "$decode" --model="$out/dates.h5" --beam_width=1 >"$out/lines.txt" ||
  fail "decode from standard input exited non-zero"
[ "$(wc -l <"$out/lines.txt")" -eq 3 ] || { cat "$out/lines.txt"; fail "decode: not one line per input line"; }
sed -n 2p "$out/lines.txt" | grep -q "^error	character 'M' at position 0 of \"May 9\" is not in the vocabulary" ||
  { cat "$out/lines.txt"; fail "decode: no error line for an unknown character"; }

# Bad input: exit code 2, the reason, nothing on standard output.
expect_error() {  # code, message, command...
  local code="$1" message="$2"; shift 2
  set +e; "$@" >"$out/stdout.txt" 2>"$out/stderr.txt"; local got=$?; set -e
  [ "$got" -eq "$code" ] || { cat "$out/stderr.txt"; fail "exit $got, not $code: $*"; }
  grep -qF -- "$message" "$out/stderr.txt" || { cat "$out/stderr.txt"; fail "no '$message': $*"; }
  [ ! -s "$out/stdout.txt" ] || { cat "$out/stdout.txt"; fail "wrote to standard output: $*"; }
}
expect_error 2 "error: text 2: character 'Q' at position 0 of \"Q\" is not in the vocabulary" \
  "$decode" --model="$out/dates.h5" "9 may 2018" "Q"
expect_error 2 "text 1 has 41 characters; the model was trained on at most 29" \
  "$decode" --model="$out/dates.h5" "$(printf 'x%.0s' $(seq 41))"
expect_error 2 "Illegal value '0' specified for flag 'beam_width'" \
  "$decode" --model="$out/dates.h5" --beam_width=0 "9 may 2018"
"$model_file_main" fit 1 "$out/classifier.h5" >/dev/null
expect_error 2 "cannot decode with model 'sequential': it has 1 inputs and 1 outputs, not 2 and 1" \
  "$decode" --model="$out/classifier.h5" "9 may 2018"
expect_error 2 "Illegal value '0' specified for flag 'epochs'" "$lstm" --epochs=0
expect_error 2 "--task=french: " "$lstm" --task=french
expect_error 2 "Illegal value '-7' specified for flag 'verbose'" "$lstm" --verbose=-7
expect_error 2 "--compare_without_attention is for seq2seq_attention" "$lstm" --compare_without_attention
expect_error 2 "--attention=luong: use dot" "$attention" --attention=luong
mkdir "$out/a_directory"
expect_error 2 "--save" "$lstm" --save="$out/a_directory" --epochs=1 --examples=20
[ -d "$out/a_directory" ] || fail "--save replaced a directory"
expect_error 2 "--out_dir" "$lstm" --out_dir="$out/dates.h5" --epochs=1 --examples=20
# ceil(0.99 * 20) = 20 pairs held out leave none to train on (it crashed).
expect_error 2 "--held_out=0.99 of --examples=20 holds out all 20 pairs" \
  "$lstm" --held_out=0.99 --epochs=1 --examples=20
# An empty text is refused with the others, before anything is written.
expect_error 2 "error: text 2 is empty" "$decode" --model="$out/dates.h5" "9 may 2018" ""

# The harder task runs too.
log="$out/numbers.log"
"$lstm" --task=numbers --examples=200 --epochs=1 --latent_dim=8 --show=2 --out_dir="$out" >"$log" 2>&1 ||
  { cat "$log"; fail "seq2seq_lstm --task=numbers exited non-zero"; }
tail -n 1 "$log" | grep -qx "Exact match (held out), no attention: greedy $percent, beam 4 $percent" ||
  { cat "$log"; fail "numbers: no result line"; }
echo PASS
