#!/usr/bin/env bash
# fetch_data: verifies what is present, repairs it with --force, and never leaves a staging
# folder behind, whether it succeeds or fails part-way.
set -uo pipefail
fetch="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
no_temporaries() {
  local left; left="$(find "$1" -maxdepth 1 -name '.*' ! -name . | head -n 3)"
  [ -z "$left" ] || fail "$2: temporaries left behind: $left"
}

# A source folder with a Tweets.csv (not the Kaggle file: a warning, used anyway) and an archive
# that is not gzip (the unpacking fails part-way).
src="$tmp/src"; mkdir -p "$src"
printf 'airline_sentiment,text\nnegative,late\n' >"$src/Tweets.csv"
head -c 5000 /dev/urandom >"$src/aclImdb_v1.tar.gz"

data="$tmp/data"
"$fetch" --from "$src" --data_dir "$data" tweets 2>"$tmp/log" || fail "tweets from a folder: $(cat "$tmp/log")"
grep -q "differs from the known Kaggle file (sha256); using it anyway" "$tmp/log" || fail "no checksum warning"
cmp -s "$src/Tweets.csv" "$data/Tweets.csv" || fail "Tweets.csv not copied"
no_temporaries "$data" "tweets"

# Present but not the known file: reported with the --force hint, exit 1, left alone.
if "$fetch" --data_dir "$data" tweets 2>"$tmp/log"; then fail "a differing Tweets.csv passed verification"; fi
grep -q "differs from the known Kaggle file (sha256): run again with --force to replace it" "$tmp/log" ||
  fail "no --force hint: $(cat "$tmp/log")"
printf 'airline_sentiment,text\npositive,great\n' >"$src/Tweets.csv"
"$fetch" --from "$src" --data_dir "$data" --force tweets 2>"$tmp/log" || fail "--force: $(cat "$tmp/log")"
cmp -s "$src/Tweets.csv" "$data/Tweets.csv" || fail "--force did not replace Tweets.csv"
no_temporaries "$data" "--force"

# A damaged archive: the run fails and leaves no staging folder (the old EXIT trap did).
if "$fetch" --from "$src/aclImdb_v1.tar.gz" --data_dir "$data" imdb 2>"$tmp/log"; then
  fail "a damaged archive was accepted"
fi
grep -q "has the wrong sha256" "$tmp/log" || fail "damaged archive: $(cat "$tmp/log")"
no_temporaries "$data" "damaged archive"
[ ! -e "$data/aclImdb" ] || fail "damaged archive: aclImdb appeared"

# A local copy that is not there: one line naming it (not a Kaggle login or a download), exit 2,
# nothing written, not even the data folder. The same through $SEQLEARN_DATA_FROM, and for a FIFO.
hint="give the folder holding Tweets.csv and the IMDB archive (../shared/data on offline machines), or one such file"
# expect_usage_error MESSAGE args...: exit 2, MESSAGE as all of stderr, no data folder.
expect_usage_error() {
  local message="$1"; shift
  rm -rf "$tmp/fresh"
  timeout 10 "$fetch" --data_dir "$tmp/fresh" "$@" 2>"$tmp/log"
  local code=$?
  [ "$code" -eq 2 ] || fail "$*: exit $code, expected 2: $(cat "$tmp/log")"
  [ "$(cat "$tmp/log")" = "$message" ] || fail "$*: said '$(cat "$tmp/log")', expected '$message'"
  [ ! -e "$tmp/fresh" ] || fail "$*: created the data folder"
}
for what in tweets imdb all; do
  expect_usage_error "fetch_data: --from '$tmp/missing' does not exist: $hint" --from "$tmp/missing" "$what"
done
expect_usage_error "fetch_data: --from '$tmp/missing' does not exist: $hint" --from="$tmp/missing" tweets
SEQLEARN_DATA_FROM="$tmp/missing" expect_usage_error \
  "fetch_data: \$SEQLEARN_DATA_FROM '$tmp/missing' does not exist: $hint" tweets
mkfifo "$tmp/fifo"
expect_usage_error "fetch_data: --from '$tmp/fifo' is not a folder or a regular file (a FIFO or device is no copy of the data): $hint" \
  --from "$tmp/fifo" tweets
expect_usage_error "fetch_data: --from needs a value (see --help)" tweets --from
# A folder without Tweets.csv says so.
mkdir -p "$tmp/empty"
if "$fetch" --from "$tmp/empty" --data_dir "$tmp/fresh" tweets 2>"$tmp/log"; then fail "an empty --from passed"; fi
[ "$(cat "$tmp/log")" = "fetch_data: no Tweets.csv in --from '$tmp/empty' (expected $tmp/empty/Tweets.csv, or the path of a file named Tweets.csv)" ] ||
  fail "empty --from folder: $(cat "$tmp/log")"

# The real archive, when this machine has it: unpack, verify, detect damage, repair.
real="$(cd "$(dirname "$(readlink -f README.md)")/.." 2>/dev/null && pwd)/shared/data"
if [ -f "$real/aclImdb_train_test.tar.gz" ]; then
  "$fetch" --from "$real" --data_dir "$data" imdb 2>"$tmp/log" || fail "real IMDB: $(cat "$tmp/log")"
  "$fetch" --data_dir "$data" imdb 2>"$tmp/log" || fail "intact IMDB not recognised: $(cat "$tmp/log")"
  echo " changed" >>"$data/aclImdb/test/neg/0_2.txt"
  if "$fetch" --data_dir "$data" imdb 2>"$tmp/log"; then fail "a changed review passed verification"; fi
  grep -q "incomplete or damaged .* --force" "$tmp/log" || fail "damaged IMDB: $(cat "$tmp/log")"
  rm "$data/aclImdb/test/pos/0_10.txt" && mkfifo "$data/aclImdb/test/pos/0_10.txt"
  if "$fetch" --data_dir "$data" imdb 2>"$tmp/log"; then fail "a FIFO review passed verification"; fi
  "$fetch" --from "$real" --data_dir "$data" --force imdb 2>"$tmp/log" || fail "IMDB --force: $(cat "$tmp/log")"
  "$fetch" --data_dir "$data" imdb 2>"$tmp/log" || fail "IMDB not repaired: $(cat "$tmp/log")"
  no_temporaries "$data" "IMDB repair"
else
  echo "note: $real/aclImdb_train_test.tar.gz not here; the real-archive cases did not run"
fi

[ "$failures" -eq 0 ] || exit 1
echo "fetch_data: all cases passed"
