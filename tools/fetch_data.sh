#!/usr/bin/env bash
# Puts the data sets into the project's data directory (gitignored):
#   data/aclImdb/{train,test}/{pos,neg}/*.txt   IMDB Large Movie Review Dataset v1.0
#   data/Tweets.csv                             Twitter US Airline Sentiment
#
# Usage: tools/fetch_data.sh [--from DIR_OR_FILE] [--data_dir DIR] [--force] [imdb|tweets|all]
#   --from   a local copy: a directory holding aclImdb_train_test.tar.gz / aclImdb_v1.tar.gz /
#            aclImdb/ and Tweets.csv (on offline machines: ../shared/data), or one archive or
#            CSV file. Also taken from $SEQLEARN_DATA_FROM.
#   --force  fetch again and replace what is present (the repair when a loader reports damage).
# Without a local copy, IMDB is downloaded from Stanford (sha256 checked); Tweets.csv needs a
# Kaggle login, so it cannot be downloaded here. Present data is verified (file counts and the
# published checksums) and left alone when intact; damaged data is reported with the --force
# hint. Nothing half-unpacked is left behind: everything is unpacked or copied under a temporary
# name first, and the temporaries are removed however the script ends.
set -euo pipefail
staging=""

IMDB_URL="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_OFFICIAL_SHA256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
IMDB_LOCAL_SHA256="eada8d4068e13728e1a0965a34b66d0f7c4a8828a9fc2832b41ee71d6ab9f010"
# sha256 of `find aclImdb -type f | LC_ALL=C sort | xargs sha256sum` (../shared/data/README.md).
IMDB_TREE_SHA256="b155ae18c4016500d64b7ea091f3f04c4ea9e702ab3bdb2b4aa0effbd4da11c6"
TWEETS_SHA256="ea94b23f41892b290dec3330bb8cf9cb6b8bc669eaae5f3a84c40f7b0de8f15e"

# Under `bazel run`, relative paths mean the user's directory and data/ the workspace's.
[ -n "${BUILD_WORKING_DIRECTORY:-}" ] && cd "$BUILD_WORKING_DIRECTORY"
root="${BUILD_WORKSPACE_DIRECTORY:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
from="${SEQLEARN_DATA_FROM:-}"
from_name='$SEQLEARN_DATA_FROM'  # how the user named $from, for messages
data_dir="$root/data"
what="all"
force=0
usage_error() { echo "fetch_data: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --from|--data_dir) [ $# -ge 2 ] || usage_error "$1 needs a value (see --help)" ;;&
    --from) from="$2"; from_name="--from"; shift 2 ;;
    --from=*) from="${1#*=}"; from_name="--from"; shift ;;
    --data_dir) data_dir="$2"; shift 2 ;;
    --data_dir=*) data_dir="${1#*=}"; shift ;;
    --force) force=1; shift ;;
    imdb|tweets|all) what="$1"; shift ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown argument '$1' (see --help)" ;;
  esac
done
# A local copy that is not there is the user's mistake to hear about, before anything is written
# (not a hint about a Kaggle login or a download).
if [ -n "$from" ]; then
  copy_hint="give the folder holding Tweets.csv and the IMDB archive (../shared/data on offline machines), or one such file"
  if [ ! -e "$from" ]; then
    usage_error "$from_name '$from' does not exist: $copy_hint"
  elif [ -d "$from" ]; then
    [ -r "$from" ] && [ -x "$from" ] || usage_error "$from_name '$from': this folder cannot be read (permission denied): $copy_hint"
  elif [ -f "$from" ]; then
    [ -r "$from" ] || usage_error "$from_name '$from': this file cannot be read (permission denied): $copy_hint"
  else
    usage_error "$from_name '$from' is not a folder or a regular file (a FIFO or device is no copy of the data): $copy_hint"
  fi
fi
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"

say() { echo "fetch_data: $*" >&2; }
die() { say "$*"; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Temporaries of this run (staging folders, partial copies), removed on any exit or signal. A
# global list: a trap runs after the function that set a local variable has returned.
temporaries=()
cleanup() { [ ${#temporaries[@]} -eq 0 ] || rm -rf -- "${temporaries[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# new_staging NAME: a new empty folder under $data_dir in $staging, removed at exit. (Not in
# $(...): a subshell's additions to the list would be lost.)
new_staging() {
  staging="$(mktemp -d "$data_dir/.$1.XXXXXX")" || die "cannot create a folder in $data_dir"
  temporaries+=("$staging")
}

# 4 x 12,500 regular *.txt files (a FIFO or folder named *.txt does not count).
imdb_complete() {
  local dir="$1" split label
  for split in train test; do
    for label in pos neg; do
      [ "$(find "$dir/$split/$label" -maxdepth 1 -type f -name '*.txt' 2>/dev/null | wc -l)" -eq 12500 ] || return 1
    done
  done
}

# Nothing but the 50,000 reviews, and the published checksum of the whole tree: every byte of
# every review.
imdb_intact() {
  local dir="$1"
  imdb_complete "$dir" || return 1
  [ "$(find "$dir" -mindepth 1 \! -type d | wc -l)" -eq 50000 ] || return 1
  [ "$(cd "$dir/.." && find "$(basename "$dir")" -type f | LC_ALL=C sort | xargs sha256sum |
        sha256sum | cut -d' ' -f1)" = "$IMDB_TREE_SHA256" ]
}

# Moves $2 (a complete new copy) into place as $1, replacing an old copy only once the new one
# is whole.
install_tree() {
  local target="$1" fresh="$2"
  if [ -e "$target" ]; then
    new_staging old
    mv "$target" "$staging/"
  fi
  mv "$fresh" "$target"
}

fetch_imdb() {
  local target="$data_dir/aclImdb"
  if [ "$force" -eq 0 ] && [ -e "$target" ]; then
    say "verifying $target (file counts and checksum)"
    imdb_intact "$target" && { say "IMDB already in $target, intact"; return; }
    die "$target is incomplete or damaged (it differs from the published checksum): run again with --force to replace it"
  fi
  local archive="" expected=""
  if [ -n "$from" ]; then
    if [ -d "$from/aclImdb" ] && imdb_complete "$from/aclImdb"; then
      say "copying $from/aclImdb"
      new_staging aclImdb
      for d in train/pos train/neg test/pos test/neg; do
        mkdir -p "$staging/aclImdb/$d" && cp "$from/aclImdb/$d"/*.txt "$staging/aclImdb/$d/"
      done
      imdb_intact "$staging/aclImdb" || die "$from/aclImdb differs from the published checksum: it is damaged"
      local fresh="$staging/aclImdb"
      install_tree "$target" "$fresh"
      say "IMDB ready in $target"; return
    fi
    for candidate in "$from" "$from/aclImdb_train_test.tar.gz" "$from/aclImdb_v1.tar.gz"; do
      if [ -f "$candidate" ]; then archive="$candidate"; break; fi
    done
    [ -n "$archive" ] || die "no IMDB copy in '$from' (expected aclImdb_train_test.tar.gz, aclImdb_v1.tar.gz or aclImdb/)"
    case "$(basename "$archive")" in
      aclImdb_train_test.tar.gz) expected="$IMDB_LOCAL_SHA256" ;;
      aclImdb_v1.tar.gz) expected="$IMDB_OFFICIAL_SHA256" ;;
    esac
  else
    command -v curl >/dev/null || die "no local copy given (--from) and curl is missing to download $IMDB_URL"
    archive="$data_dir/aclImdb_v1.tar.gz"
    if [ ! -f "$archive" ]; then
      say "downloading $IMDB_URL (84 MB)"
      temporaries+=("$archive.part")
      curl -fL --retry 3 -o "$archive.part" "$IMDB_URL" || { rm -f "$archive.part"; die "download failed: give a local copy with --from"; }
      mv "$archive.part" "$archive"
    fi
    expected="$IMDB_OFFICIAL_SHA256"
  fi
  if [ -n "$expected" ]; then
    say "checking sha256 of $archive"
    [ "$(sha256_of "$archive")" = "$expected" ] || die "$archive has the wrong sha256 (expected $expected): the file is damaged or not the IMDB archive"
  fi
  say "unpacking $archive"
  new_staging aclImdb
  # Only the labelled reviews (the official archive also holds 50,000 unlabelled ones).
  tar -xzf "$archive" -C "$staging" --wildcards 'aclImdb/train/pos/*' 'aclImdb/train/neg/*' \
      'aclImdb/test/pos/*' 'aclImdb/test/neg/*' || die "cannot unpack $archive (damaged or disk full?)"
  imdb_complete "$staging/aclImdb" || die "$archive does not hold 4 x 12,500 reviews"
  imdb_intact "$staging/aclImdb" || die "the reviews in $archive differ from the published checksum"
  local fresh="$staging/aclImdb"
  install_tree "$target" "$fresh"
  say "IMDB ready in $target"
}

fetch_tweets() {
  local target="$data_dir/Tweets.csv"
  if [ "$force" -eq 0 ] && [ -e "$target" ]; then
    [ -f "$target" ] && [ "$(sha256_of "$target")" = "$TWEETS_SHA256" ] &&
      { say "Tweets.csv already in $target, intact"; return; }
    die "$target differs from the known Kaggle file (sha256): run again with --force to replace it"
  fi
  local source=""
  if [ -n "$from" ]; then
    if [ -f "$from" ] && [ "$(basename "$from")" = "Tweets.csv" ]; then source="$from";
    elif [ -f "$from/Tweets.csv" ]; then source="$from/Tweets.csv"; fi
  fi
  if [ -z "$source" ] && [ -n "$from" ]; then
    die "no Tweets.csv in $from_name '$from' (expected $from/Tweets.csv, or the path of a file named Tweets.csv)"
  fi
  if [ -z "$source" ]; then
    die "Tweets.csv cannot be downloaded without a Kaggle login: download it from
  https://www.kaggle.com/crowdflower/twitter-airline-sentiment (Tweets.csv), then run
  tools/fetch_data.sh --from /path/to/folder/with/Tweets.csv tweets"
  fi
  [ "$(sha256_of "$source")" = "$TWEETS_SHA256" ] || say "warning: $source differs from the known Kaggle file (sha256); using it anyway"
  new_staging Tweets
  local fresh="$staging/Tweets.csv"
  cp "$source" "$fresh" || die "cannot copy $source into $data_dir (disk full?)"
  install_tree "$target" "$fresh"
  say "Tweets.csv ready in $target"
}

case "$what" in
  imdb) fetch_imdb ;;
  tweets) fetch_tweets ;;
  all) fetch_imdb; fetch_tweets ;;
esac
