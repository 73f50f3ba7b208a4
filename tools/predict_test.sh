#!/usr/bin/env bash
# //tools:predict on a tiny model trained here: texts on the command line, then on stdin with the
# inputs a hostile user sends (an empty line, bytes that are not UTF-8, a 1 MB line, a line past
# --max_line_bytes, unknown words): one result line per input line, never a crash.
set -euo pipefail
predict="$1"
train="$2"
work="${TEST_TMPDIR:-$(mktemp -d)}"
"$train" "$work/tiny.h5"

"$predict" --model="$work/tiny.h5" "what a wonderful movie" "an awful, terrible movie" > "$work/args.tsv"
cat "$work/args.tsv"
[ "$(wc -l < "$work/args.tsv")" -eq 2 ]
awk -F'\t' 'NR == 1 && !($1 > 0.5 && $2 == "positive" && $3 == "what a wonderful movie") { exit 1 }
            NR == 2 && !($1 < 0.5 && $2 == "negative") { exit 1 }' "$work/args.tsv" ||
  { echo "expected positive then negative"; exit 1; }

{
  echo "a great movie"
  echo ""
  printf 'caf\xc3 movie\n'
  head -c 1000000 < <(yes "good movie") | tr "\n" " "; echo  # 1,000,000 bytes
  head -c 1100000 /dev/zero | tr '\0' 'x'; echo
  echo "zzz qqq"
  printf 'the movie was bad'  # no newline at the end
} > "$work/input.txt"
"$predict" --model="$work/tiny.h5" --max_line_bytes=1048576 --batch_size=3 \
  < "$work/input.txt" > "$work/stdin.tsv" 2> "$work/stderr.txt"
cut -c 1-100 "$work/stdin.tsv"
[ "$(wc -l < "$work/stdin.tsv")" -eq 7 ] || { echo "expected 7 result lines"; exit 1; }
expect_line() {  # line number, expected start
  sed -n "$1p" "$work/stdin.tsv" | grep -qF -- "$2" || { echo "line $1 does not start with: $2"; exit 1; }
}
awk -F'\t' 'NR == 1 && !($1 > 0.5 && $2 == "positive") { exit 1 }' "$work/stdin.tsv"
expect_line 2 $'nan\terror\tempty text'
expect_line 3 $'nan\terror\tnot valid UTF-8 text'
awk -F'\t' 'NR == 4 && !($2 == "positive" && $3 ~ /^good movie good/) { exit 1 }' "$work/stdin.tsv"
expect_line 5 $'nan\terror\tline of 1100000 bytes, longer than --max_line_bytes=1048576: not scored'
expect_line 6 $'nan\terror\tno word of the text is in the model\'s vocabulary'
awk -F'\t' 'NR == 7 && !($1 < 0.5 && $2 == "negative") { exit 1 }' "$work/stdin.tsv"
grep -qE '^7 texts in [0-9.]+ s: [0-9]+ texts/s$' "$work/stderr.txt"

# A missing or wrong model file: one line, exit code 2.
set +e
"$predict" --model="$work/missing.h5" "text" 2> "$work/error.txt"
code=$?
set -e
[ "$code" -eq 2 ] && grep -qF "cannot open model file '$work/missing.h5': No such file or directory" "$work/error.txt"
# Exit code and standard error of a run: run_predict NAME ARGS... (stdin and stdout as redirected
# by the caller).
expect_error() {  # code, message, file
  [ "$1" -eq "$4" ] || { echo "expected exit $1, got $4"; cat "$3"; exit 1; }
  [ "$(cat "$3")" = "$2" ] || { echo "expected: $2"; echo "got: $(cat "$3")"; exit 1; }
}

# A model whose output is a sequence (one score per step): refused, not scored from wrong rows.
"$train" "$work/sequence.h5" sequence
set +e
"$predict" --model="$work/sequence.h5" "a good movie" "a bad movie" > "$work/out.tsv" 2> "$work/error.txt"
code=$?
set -e
expect_error 2 "error: '$work/sequence.h5': the model's output (layer 'time_distributed') is (None, 6, 1), not one score or one distribution per text (None, classes): predict scores whole texts; use a model that ends in a Dense layer without return_sequences" "$work/error.txt" "$code"
[ ! -s "$work/out.tsv" ] || { echo "scores were printed"; exit 1; }

# A preprocessing that does not fit the model (another length, indices past the Embedding's
# rows): refused at load, before any batch.
"$train" "$work/other_length.h5" other_length
set +e
"$predict" --model="$work/other_length.h5" "a good movie" > "$work/out.tsv" 2> "$work/error.txt"
code=$?
set -e
expect_error 2 "error: '$work/other_length.h5': the text preprocessing pads to 7 words, but the model takes inputs (None, 6): the file is inconsistent; save it again with an experiment's --save" "$work/error.txt" "$code"
"$train" "$work/small_embedding.h5" small_embedding
set +e
"$predict" --model="$work/small_embedding.h5" < /dev/null > "$work/out.tsv" 2> "$work/error.txt"
code=$?
set -e
expect_error 2 "error: '$work/small_embedding.h5': the text preprocessing makes word indices up to 12, but layer 'embedding' (Embedding) has rows for 0 to 8: the file is inconsistent; save it again with an experiment's --save" "$work/error.txt" "$code"

# Standard output on a full device (a private copy of /dev/full): exit 1 and one message, in
# both modes.
if mknod "$work/full" c 1 7 2>/dev/null; then
  for mode in args stdin; do
    set +e
    if [ "$mode" = args ]; then
      "$predict" --model="$work/tiny.h5" "a good movie" > "$work/full" 2> "$work/error.txt"
    else
      "$predict" --model="$work/tiny.h5" < "$work/input.txt" > "$work/full" 2> "$work/error.txt"
    fi
    code=$?
    set -e
    expect_error 1 "error: writing the predictions to standard output failed: No space left on device" "$work/error.txt" "$code"
  done
fi

# A reader that stops early (| head -1): a quiet, successful end, not SIGPIPE (141).
{ yes "a good movie" || true; } | head -n 200000 > "$work/many.txt"
set +e
"$predict" --model="$work/tiny.h5" < "$work/many.txt" 2> "$work/error.txt" | head -n 1 > "$work/first.tsv"
code=${PIPESTATUS[0]}
set -e
expect_error 0 "" "$work/error.txt" "$code"
[ "$(wc -l < "$work/first.tsv")" -eq 1 ] || { echo "expected one line through head"; exit 1; }

# Standard input that is a directory, or closed: exit 2 naming it.
set +e
"$predict" --model="$work/tiny.h5" < "$work" > "$work/out.tsv" 2> "$work/error.txt"
code=$?
set -e
expect_error 2 "error: standard input is a directory: give the texts as arguments, or one per line on standard input" "$work/error.txt" "$code"
set +e
"$predict" --model="$work/tiny.h5" <&- > "$work/out.tsv" 2> "$work/error.txt"
code=$?
set -e
expect_error 2 "error: standard input is closed: give the texts as arguments, or one per line on standard input" "$work/error.txt" "$code"

# A NUL byte inside a line is scored as a separator and echoed, as \0, with all that was scored.
printf 'a good\0movie\n' | "$predict" --model="$work/tiny.h5" > "$work/nul.tsv" 2>/dev/null
[ "$(cut -f 3 "$work/nul.tsv")" = 'a good\0movie' ] || { echo "NUL echo:"; cat -A "$work/nul.tsv"; exit 1; }

# Texts as arguments still work with the flags in a flagfile; a bad flagfile is one line, exit 2.
echo "--model=$work/tiny.h5" > "$work/flags"
"$predict" --flagfile="$work/flags" "what a wonderful movie" -- "--not a flag" > "$work/flagfile.tsv"
[ "$(cut -f 3 "$work/flagfile.tsv")" = $'what a wonderful movie\n--not a flag' ] ||
  { echo "texts with a flagfile: $(cat "$work/flagfile.tsv")"; exit 1; }
mkfifo "$work/fifo"
set +e
timeout 10 "$predict" --flagfile="$work/fifo" "text" 2> "$work/error.txt"
code=$?
set -e
[ "$code" -eq 2 ] && [ "$(cat "$work/error.txt")" = "error: --flagfile=$work/fifo: this is a FIFO: a flagfile must be a regular file of flags, one --name=value per line" ] ||
  { echo "FIFO flagfile: exit $code: $(cat "$work/error.txt")"; exit 1; }
echo "predict: arguments and stdin as expected"
