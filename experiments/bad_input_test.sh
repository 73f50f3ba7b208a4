#!/usr/bin/env bash
# Bad input, as a hostile user gives it: every case must end in one clear message, the stated
# exit code, no hang, and no file written under a final name.
# Arguments: the airline_lstm, merge_modes, imdb_lstm, lstm_from_scratch and bench_imdb binaries.
set -uo pipefail
airline="$1" merge="$2" imdb="$3" scratch="$4" bench="$5"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect CODE "EXACT STDERR LINE" command...: runs the command (at most 60 s, in an empty
# --out_dir where it takes one) and checks its exit code and the last line it printed on stderr.
expect() {
  local code="$1" message="$2"; shift 2
  local out="$tmp/out.$RANDOM"; mkdir -p "$out"
  timeout 60 "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local got=$?
  [ "$got" -eq "$code" ] || fail "$* exited $got, expected $code: $(tail -n 3 "$tmp/stderr")"
  [ "$(tail -n 1 "$tmp/stderr")" = "$message" ] ||
    fail "$*: stderr ends with '$(tail -n 1 "$tmp/stderr")', expected '$message'"
}
# Nothing in the directory (written files or temporaries).
expect_empty() { [ -z "$(ls -A "$1")" ] || fail "$1 should be empty, holds: $(ls -A "$1")"; }

tweets() {  # tweets DIR: a small valid Tweets.csv
  mkdir -p "$1"
  { echo 'airline_sentiment,text'
    for i in $(seq 1 10); do echo "negative,late again $i"; echo "positive,great crew $i"; done
  } >"$1/Tweets.csv"
}

## 1. Flags: one line naming the flag, the value and the range; exit 2; no work done.
out="$tmp/flags"; mkdir -p "$out"
for case in "--epochs=-1|epochs|-1|[1, 100000]" "--epochs=0|epochs|0|[1, 100000]" \
            "--batch_size=-5|batch_size|-5|[1, 1000000]" "--max_length=0|max_length|0|[1, 10000]" \
            "--epochs=abc|epochs|abc|[1, 100000]" "--epochs=99999999999|epochs|99999999999|[1, 100000]"; do
  IFS='|' read -r arg flag value range <<<"$case"
  expect 2 "ERROR: Illegal value '$value' specified for flag '$flag'; expected an integer in $range" \
    "$airline" "$arg" --data_dir="$tmp/nowhere" --out_dir="$out"
done
expect 2 "ERROR: Illegal value '0' specified for flag 'repeats'; expected an integer in [1, 1000]" \
  "$merge" --repeats=0 --out_dir="$out"
expect 2 "ERROR: Illegal value '0' specified for flag 'epochs'; expected an integer in [1, 1000000]" \
  "$merge" --epochs=0 --out_dir="$out"
expect 2 "ERROR: Illegal value '-1' specified for flag 'seed'" "$merge" --seed=-1 --out_dir="$out"
expect 2 "ERROR: Illegal value '0' specified for flag 'top_words'; expected an integer in [4, 1000000]" \
  "$imdb" --top_words=0
expect 2 "ERROR: Illegal value '2000000000' specified for flag 'max_review_length'; expected an integer in [1, 20000]" \
  "$imdb" --max_review_length=2000000000
expect 2 "ERROR: Illegal value '-1' specified for flag 'epochs'; expected an integer in [1, 1000000]" \
  "$scratch" --epochs=-1
expect 2 "ERROR: Illegal value '0' specified for flag 'epochs'; expected an integer in [1, 1000000]" \
  "$scratch" --epochs=0
expect 2 "ERROR: Illegal value '0' specified for flag 'repeats'; expected an integer in [1, 1000]" \
  "$bench" --repeats=0
expect 2 "ERROR: Unknown command line flag 'epoch'" "$merge" --epoch=3
for precision in float16 mixed_float16 BFLOAT16 " bfloat16"; do
  expect 2 "ERROR: Illegal value '$precision' specified for flag 'mixed_precision'; expected float32, bfloat16 (Keras' mixed_bfloat16) or mixed_bfloat16_anywhere" \
    "$imdb" --mixed_precision="$precision"
done
expect_empty "$out"

## 2. --out_dir is checked (and its last part created) before training.
tweets "$tmp/data"
expect 2 "error: --out_dir=$tmp/no/such: the directory does not exist and cannot be created (No such file or directory): create its parent first or choose another directory" \
  "$airline" --epochs=1 --data_dir="$tmp/data" --out_dir="$tmp/no/such"
grep -q "^Epoch" "$tmp/stdout" && fail "trained before checking --out_dir"
echo x >"$tmp/a_file"
expect 2 "error: --out_dir=$tmp/a_file: this is not a directory: choose a directory for the results" \
  "$merge" --epochs=2 --out_dir="$tmp/a_file"
"$merge" --epochs=2 --out_dir="$tmp/created" >/dev/null 2>&1 && [ -s "$tmp/created/merge_modes.csv" ] ||
  fail "merge_modes did not create a missing last part of --out_dir"

## 3. Data that leaves nothing to learn from: an error naming the file, exit 1, nothing written.
mkdir -p "$tmp/neutral"
printf 'airline_sentiment,text\nneutral,hello\nneutral,gate\n' >"$tmp/neutral/Tweets.csv"
out="$tmp/neutral_out"; mkdir -p "$out"
expect 1 "error: $tmp/neutral/Tweets.csv holds no negative or positive tweet (2 records, 2 neutral, dropped as in the book): there is nothing to train on; check that this is the Kaggle file" \
  "$airline" --epochs=1 --data_dir="$tmp/neutral" --out_dir="$out"
expect_empty "$out"
mkdir -p "$tmp/one"
printf 'airline_sentiment,text\npositive,great crew\n' >"$tmp/one/Tweets.csv"
expect 1 "error: $tmp/one/Tweets.csv has 1 usable tweet(s): the book's 70/30 split leaves 0 to train on and 1 to test on, and both need at least one" \
  "$airline" --epochs=1 --data_dir="$tmp/one" --out_dir="$out"
expect_empty "$out"

# Tweets of nothing but stop words and punctuation: said so where the data is prepared, not as a
# model without an input shape.
mkdir -p "$tmp/stop"
printf 'airline_sentiment,text\nnegative,"I was, and you are!"\npositive,@ the ...\nnegative,so very\n' \
  >"$tmp/stop/Tweets.csv"
expect 1 "error: $tmp/stop/Tweets.csv: after cleaning (punctuation and NLTK's English stop words removed, as in the book) every one of its 3 negative and positive tweets is empty: there are no words left to train on; check that this is the Kaggle file" \
  "$airline" --epochs=1 --data_dir="$tmp/stop" --out_dir="$out"
expect_empty "$out"

## 4. Not a regular file where Tweets.csv belongs: an error, no hang on a FIFO.
mkdir -p "$tmp/fifo" "$tmp/dir/Tweets.csv"
mkfifo "$tmp/fifo/Tweets.csv"
for dir in fifo dir; do
  expect 1 "error: $tmp/$dir/Tweets.csv is not a regular file (a directory, FIFO or device cannot be data). Fetch it with: bazel run //tools:fetch_data -- --from ../shared/data tweets (or pass --data_dir)" \
    "$airline" --epochs=1 --data_dir="$tmp/$dir" --out_dir="$out"
done
expect_empty "$out"

## 5. One runaway tweet does not pad the data set to its length: a warning names it.
tweets "$tmp/runaway"
{ printf 'negative,"'; for i in $(seq 1 3000); do printf 'word%d ' "$i"; done; echo '"'; } >>"$tmp/runaway/Tweets.csv"
out="$tmp/runaway_out"; mkdir -p "$out"
timeout 120 "$airline" --epochs=1 --data_dir="$tmp/runaway" --out_dir="$out" >"$tmp/stdout" 2>"$tmp/stderr" ||
  fail "runaway tweet: run failed: $(tail -n 2 "$tmp/stderr")"
grep -qx "warning: the tweet on line 22 of $tmp/runaway/Tweets.csv has 3000 words (the next longest: 3); tweets are cut to 100 words (--max_length)" "$tmp/stderr" ||
  fail "runaway tweet: no warning naming it: $(cat "$tmp/stderr")"
grep -q "(None, 100, 32)" "$tmp/stdout" || fail "runaway tweet: not padded to 100"

## 6. The plotter: missing or failing is a warning after the numbers; a cut image is never published.
out="$tmp/noplot"; mkdir -p "$out"
PATH=/nonexistent "$merge" --epochs=2 --out_dir="$out" >"$tmp/stdout" 2>"$tmp/stderr"
[ $? -eq 0 ] || fail "a missing gnuplot failed the run"
grep -q "^warning: no plot $out/merge_modes.png: cannot start gnuplot: No such file or directory (install it with tools/setup.sh) (the numbers are in $out/merge_modes.csv)$" "$tmp/stderr" ||
  fail "missing gnuplot: $(cat "$tmp/stderr")"
[ -s "$out/merge_modes.csv" ] && [ ! -e "$out/merge_modes.png" ] || fail "missing gnuplot: expected the CSV and no PNG"
grep -q "^Training: " "$tmp/stdout" || fail "missing gnuplot: results not printed"
[ "$(ls -A "$out" | wc -l)" -eq 1 ] || fail "missing gnuplot left files: $(ls -A "$out")"
# A file size limit of 8 KB: the CSV fits, the PNG does not, as on a full disk. SIGXFSZ is ignored
# by the program (io::AtomicFile: a write past the limit is an error, not a kill), and so by
# gnuplot, which it starts: gnuplot gets EFBIG, exits 0 and leaves a cut image, which the check
# before the rename must catch; likewise when the caller ignores the signal already. stdout and
# stderr go through a pipe, which the limit does not touch.
for ignore in no yes; do
  out="$tmp/full_$ignore"; mkdir -p "$out"
  ( [ "$ignore" = yes ] && trap '' XFSZ; ulimit -f 8; exec "$merge" --epochs=2 --out_dir="$out" ) 2>&1 |
    cat >"$tmp/full.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "a failing plotter failed the run: $(tail -n 3 "$tmp/full.log")"
  reason="'$out/merge_modes.png' was not written: the image is incomplete (8192 bytes, no PNG signature or end chunk): was the disk full?"
  grep -qxF "warning: no plot $out/merge_modes.png: $reason (the numbers are in $out/merge_modes.csv)" "$tmp/full.log" ||
    fail "full disk ($ignore): no warning: $(cat "$tmp/full.log")"
  [ -s "$out/merge_modes.csv" ] && [ ! -e "$out/merge_modes.png" ] || fail "full disk: a PNG was published: $(ls -la "$out")"
  [ "$(ls -A "$out" | wc -l)" -eq 1 ] || fail "full disk left files: $(ls -A "$out")"
done

## 7. A symlink planted at the temporary name an older version used is not followed.
out="$tmp/planted"; mkdir -p "$out"
echo precious >"$tmp/victim"
for pid in $(seq $$ $(($$ + 50))); do ln -sf "$tmp/victim" "$out/merge_modes.csv.tmp$pid"; done
"$merge" --epochs=2 --out_dir="$out" >/dev/null 2>&1 || fail "planted symlinks failed the run"
[ "$(cat "$tmp/victim")" = precious ] || fail "the planted symlink redirected the write"

## 8. Flagfiles: small regular files, nested at most 8 deep, no loop; checked before Abseil reads
## them (it would read /dev/zero forever, block on a FIFO, recurse without end, skip a directory).
## And a stray argument is an error in a program that takes flags only. Exit 2, nothing written.
ff="$tmp/ff"; mkdir -p "$ff"; out="$tmp/ff_out"; mkdir -p "$out"
regular="a flagfile must be a regular file of flags, one --name=value per line"
if mknod "$ff/zero" c 1 5 2>/dev/null; then  # a private /dev/zero
  expect 2 "error: --flagfile=$ff/zero: this is a character device: $regular" \
    "$merge" --flagfile="$ff/zero" --out_dir="$out"
else
  echo "note: no private /dev/zero (mknod needs root); that case did not run"
fi
mkfifo "$ff/fifo"  # no writer: a blocking open would hang (expect's timeout ends it as a failure)
start=$SECONDS
expect 2 "error: --flagfile=$ff/fifo: this is a FIFO: $regular" "$merge" --flagfile="$ff/fifo" --out_dir="$out"
[ $((SECONDS - start)) -le 5 ] || fail "the FIFO flagfile took $((SECONDS - start)) s"
mkdir -p "$ff/dir"
expect 2 "error: --flagfile=$ff/dir: this is a directory: $regular" "$merge" --flagfile "$ff/dir" --out_dir="$out"
echo "--flagfile=$ff/self" >"$ff/self"
expect 2 "error: --flagfile=$ff/self (line 1 of $ff/self): includes itself: $ff/self -> $ff/self: remove the --flagfile line that closes the loop" \
  "$merge" --flagfile="$ff/self" --out_dir="$out"
printf -- '--epochs=2\n--flagfile=%s\n' "$ff/b" >"$ff/a"; printf -- '--flagfile=%s\n' "$ff/a" >"$ff/b"
expect 2 "error: --flagfile=$ff/a (line 1 of $ff/b): includes itself: $ff/a -> $ff/b -> $ff/a: remove the --flagfile line that closes the loop" \
  "$merge" --flagfile="$ff/a" --out_dir="$out"
head -c 1048577 /dev/zero | tr '\0' '#' >"$ff/big"
expect 2 "error: --flagfile=$ff/big: holds 1048577 bytes, more than the 1048576 (1 MiB) a flagfile may hold: $regular; is this the right file?" \
  "$merge" --flagfile="$ff/big" --out_dir="$out"
echo "--epochs=2" >"$ff/level9"; chain="$ff/level9"
for level in 8 7 6 5 4 3 2 1; do
  echo "--flagfile=$ff/level$((level + 1))" >"$ff/level$level"; chain="$ff/level$level -> $chain"
done
expect 2 "error: --flagfile=$ff/level9 (line 1 of $ff/level8): flagfiles nest more than 8 deep: $chain: include fewer levels of flagfiles" \
  "$merge" --flagfile="$ff/level1" --out_dir="$out"
expect 2 "error: --flagfile=$ff/dir: this is a directory: $regular" \
  "$merge" --flagfile="$ff/level9,$ff/dir" --out_dir="$out"
expect 2 "error: unexpected argument 'stray': this program takes flags only (--name=value); see --help" \
  "$merge" --epochs=2 stray --out_dir="$out"
expect 2 "error: unexpected argument '--epochs=2': this program takes flags only (--name=value); see --help" \
  "$merge" --out_dir="$out" -- --epochs=2
for program in "$airline" "$imdb" "$scratch" "$bench"; do
  expect 2 "error: unexpected argument 'stray': this program takes flags only (--name=value); see --help" \
    "$program" stray
done
expect_empty "$out"
# A good flagfile still works, nested too: its flags are read (a bad value in it is reported) and
# used (two epochs in the CSV).
echo "--epochs=0" >"$ff/zero_epochs"
expect 2 "ERROR: Illegal value '0' specified for flag 'epochs'; expected an integer in [1, 1000000]" \
  "$scratch" --flagfile="$ff/zero_epochs"
printf -- '# two epochs\n  --flagfile=%s\n--out_dir=%s\n' "$ff/level8" "$out" >"$ff/good"
"$merge" --flagfile="$ff/good" >"$tmp/stdout" 2>"$tmp/stderr" || fail "a good flagfile: $(tail -n 2 "$tmp/stderr")"
[ "$(wc -l <"$out/merge_modes.csv" 2>/dev/null)" = 3 ] || fail "a good flagfile: expected 2 epochs in $out/merge_modes.csv"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "bad input: every case gave its message and exit code"
