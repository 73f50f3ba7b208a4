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
