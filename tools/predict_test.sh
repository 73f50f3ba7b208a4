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
