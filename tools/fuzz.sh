#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (AddressSanitizer and UndefinedBehaviorSanitizer
# on) and fuzzes each for SECONDS (default 20), starting from its seed corpus in fuzz/corpus/.
#   tools/fuzz.sh [SECONDS] [TARGET...]
# New interesting inputs go to fuzz-work/<target>/ (gitignored), crashes to
# fuzz-work/<target>/crash-*: copy a crash into fuzz/corpus/<target>/ once it is fixed, so that
# `bazel test //fuzz/...` replays it forever. Prints executions and crashes per target; exits 1
# if any target crashed. Installs clang and libFuzzer (Debian packages) when missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-20}"
[[ "$seconds" =~ ^[1-9][0-9]{0,5}$ ]] || { echo "fuzz: SECONDS must be an integer in [1, 999999], got '$seconds'" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))

# The model-file loader needs the library whole: autograd (oneDNN, OpenMP), layers, saving, io,
# HDF5.
AUTOGRAD="$(ls autograd/*.cc | grep -v _test.cc | tr '\n' ' ')"
LAYERS="$(ls layers/*.cc | grep -v -e _test.cc -e _main.cc | tr '\n' ' ')"
SAVING="$(ls saving/*.cc | grep -v -e _test.cc -e _main.cc | tr '\n' ' ')"
TEXT="datasets/preprocessing.cc datasets/airline.cc datasets/imdb.cc datasets/text.cc datasets/csv.cc datasets/files.cc"
declare -A SOURCES=(
  [csv_fuzz]="datasets/csv.cc datasets/files.cc"
  [imdb_text_fuzz]="datasets/imdb.cc datasets/text.cc datasets/files.cc autograd/random.cc autograd/tensor.cc"
  [flags_fuzz]="experiments/command_line.cc experiments/flagfiles.cc $AUTOGRAD"
  [model_file_fuzz]="$LAYERS $SAVING $AUTOGRAD $TEXT io/atomic_file.cc io/isolated.cc io/json_nesting.cc"
  [predict_lines_fuzz]="tools/predict_lines.cc $TEXT autograd/random.cc autograd/tensor.cc io/json_nesting.cc"
)
declare -A LIBS=(
  [model_file_fuzz]="-I/usr/include/hdf5/serial -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5 -ldnnl -fopenmp=libgomp"
  [flags_fuzz]="-ldnnl -fopenmp=libgomp"
)
# Seconds one input may take: the model-file loader bounds HDF5 reading a file by 120 s in its
# child before it calls the file damaged, and that bound must not count as our hang.
declare -A TIMEOUTS=([model_file_fuzz]=150)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(csv_fuzz imdb_text_fuzz flags_fuzz model_file_fuzz predict_lines_fuzz)
for target in "${targets[@]}"; do
  [ -n "${SOURCES[$target]:-}" ] || { echo "fuzz: unknown target '$target' (known: ${!SOURCES[*]})" >&2; exit 2; }
done

missing=()
for package in clang libclang-rt-14-dev libabsl-dev libxtensor-dev libxsimd-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

work="fuzz-work"
mkdir -p "$work/bin"
# OpenMP as oneDNN and the Bazel build use it: GNU's (libgomp), whose omp.h sits among g++'s own
# headers; only a copy of that one is shown to clang, without the one GCC 11 attribute form clang
# 14 rejects (__malloc__ with a deallocator).
mkdir -p "$work/include"
omp_header="$(g++ -print-file-name=include/omp.h)"
[ -f "$omp_header" ] || { echo "fuzz: no omp.h from g++ ($omp_header)" >&2; exit 1; }
sed 's/__malloc__ (omp_free)/__malloc__/g' "$omp_header" >"$work/include/omp.h"
# datasets/stopwords.h is generated (a genrule): Bazel makes it, the compiler finds it in bazel-bin.
./bazelw build //datasets:stopwords_header >/dev/null 2>&1 ||
  { echo "fuzz: cannot generate datasets/stopwords.h (./bazelw build //datasets:stopwords_header)" >&2; exit 1; }
absl_libs="$(pkg-config --libs absl_statusor absl_str_format absl_strings absl_flags absl_flags_parse absl_flags_reflection)"
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -I. -Ibazel-bin -I"$work/include"
       "-DXTENSOR_DEFAULT_ALLOCATOR(T)=std::allocator<T>")
crashed=0
for target in "${targets[@]}"; do
  binary="$work/bin/$target"
  # shellcheck disable=SC2086
  clang++ "${flags[@]}" -o "$binary" "fuzz/$target.cc" ${SOURCES[$target]} $absl_libs ${LIBS[$target]:-}
  mkdir -p "$work/$target"
  log="$work/$target.log"
  set +e
  # HDF5 1.10 leaks a little of its own memory when it gives up on a damaged file: not ours.
  LSAN_OPTIONS="suppressions=fuzz/lsan_suppressions.txt:print_suppressions=0" \
  "$binary" -max_total_time="$seconds" -timeout="${TIMEOUTS[$target]:-10}" -rss_limit_mb=4096 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$work/$target/" "$work/$target" "fuzz/corpus/$target" >"$log" 2>&1
  status=$?
  set -e
  runs="$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")"
  crashes="$(find "$work/$target" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'leak-*' -o -maxdepth 1 -name 'timeout-*' | wc -l)"
  echo "fuzz: $target: $runs executions in ${seconds} s, exit $status, $crashes crash/leak/timeout input(s)"
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    crashed=1
    grep -m 5 -E "ERROR|SUMMARY|deadly signal" "$log" >&2 || true
    echo "fuzz: $target: full log in $log" >&2
  fi
done
exit "$crashed"
