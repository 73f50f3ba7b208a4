#!/usr/bin/env bash
# //tools:summary on model files written here: a compiled Sequential, a compiled graph of two
# inputs and two outputs with a shared layer, an uncompiled graph of inputs of any length; then
# the files and command lines a user gets wrong: one line on stderr each, exit 1 for a file that
# is not a readable model, 2 for a bad command line.
set -euo pipefail
summary="$1"
make_models="$2"
work="${TEST_TMPDIR:-$(mktemp -d)}"
"$make_models" "$work"

expect_line() {  # file, exact line
  grep -qxF -- "$2" "$1" || { echo "missing line: $2"; echo "--- in:"; cat "$1"; exit 1; }
}

# A Sequential: Keras' 65-column table; Embedding(20, 4) 80 parameters, LSTM(3) on 4 features
# 4 * 3 * (4 + 3 + 1) = 96, Dense(1) on 3: 4.
"$summary" --model="$work/sequential.h5" > "$work/sequential.txt"
cat "$work/sequential.txt"
expect_line "$work/sequential.txt" 'Model: "sequential"'
expect_line "$work/sequential.txt" 'Layer (type)                 Output Shape              Param #   '
expect_line "$work/sequential.txt" 'embedding (Embedding)        (None, 6, 4)              80        '
expect_line "$work/sequential.txt" 'lstm (LSTM)                  (None, 3)                 96        '
expect_line "$work/sequential.txt" 'dense (Dense)                (None, 1)                 4         '
expect_line "$work/sequential.txt" 'Total params: 180'
expect_line "$work/sequential.txt" '  loss: binary_crossentropy'
expect_line "$work/sequential.txt" '  metrics: acc'
# Keras' Adam defaults (optimizer_v2/adam.py): learning_rate 0.001, beta_1 0.9, beta_2 0.999,
# epsilon 1e-07.
expect_line "$work/sequential.txt" '  optimizer: Adam (learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, decay=0.0, amsgrad=false)'
expect_line "$work/sequential.txt" '  epochs trained: 1'
! grep -q '^Weights' "$work/sequential.txt" || { echo "weights listed without --weights"; exit 1; }

# A graph: the 98-column table with "Connected to"; the shared Dense(3) on 4 features has
# 4 * 3 + 3 = 15 parameters and two calls, each head 3 + 1 = 4.
"$summary" --model="$work/graph.h5" --weights > "$work/graph.txt"
cat "$work/graph.txt"
expect_line "$work/graph.txt" 'Model: "two_heads"'
expect_line "$work/graph.txt" 'Layer (type)                    Output Shape         Param #     Connected to                     '
expect_line "$work/graph.txt" 'left (InputLayer)               [(None, 4)]          0                                            '
expect_line "$work/graph.txt" 'shared (Dense)                  (None, 3)            15          left[0][0]                       '
expect_line "$work/graph.txt" '                                                                 right[0][0]                      '
expect_line "$work/graph.txt" 'b (Dense)                       (None, 1)            4           shared[1][0]                     '
expect_line "$work/graph.txt" 'Total params: 23'
expect_line "$work/graph.txt" '  loss: mse (output a, weight 1), mse (output b, weight 0.5)'
expect_line "$work/graph.txt" '  metrics: none'
expect_line "$work/graph.txt" '  epochs trained: 0'
expect_line "$work/graph.txt" 'Weights (6):'
expect_line "$work/graph.txt" '  shared/kernel:0  (4, 3)'
expect_line "$work/graph.txt" '  shared/bias:0    (3,)'
expect_line "$work/graph.txt" '  a/kernel:0       (3, 1)'
expect_line "$work/graph.txt" '  b/bias:0         (1,)'

# Inputs of any length (None), a mask, not compiled. GRU(2) on 2 features (reset_after: two
# biases): 3 * 2 * (2 + 2) + 2 * 3 * 2 = 36.
"$summary" --model="$work/plain.h5" --weights > "$work/plain.txt"
cat "$work/plain.txt"
expect_line "$work/plain.txt" 'Model: "plain"'
expect_line "$work/plain.txt" 'words (InputLayer)           [(None, None)]            0         '
expect_line "$work/plain.txt" 'embedding (Embedding)        (None, None, 2)           20        '
expect_line "$work/plain.txt" 'gru (GRU)                    (None, 2)                 36        '
expect_line "$work/plain.txt" 'Total params: 59'
expect_line "$work/plain.txt" 'Not compiled: the file has no training_config (saved before compile, or with include_optimizer=False).'
expect_line "$work/plain.txt" '  gru/gru_cell/bias:0              (2, 6)'

# Files that are not readable models: one line naming the file, exit 1.
expect_error() {  # code, exact message, args...
  local code=$1 message=$2
  shift 2
  set +e
  "$summary" "$@" > "$work/out.txt" 2> "$work/error.txt"
  local got=$?
  set -e
  [ "$got" -eq "$code" ] || { echo "$*: expected exit $code, got $got"; cat "$work/error.txt"; exit 1; }
  [ "$(wc -l < "$work/error.txt")" -eq 1 ] || { echo "$*: expected one line:"; cat "$work/error.txt"; exit 1; }
  [ -z "$message" ] || [ "$(cat "$work/error.txt")" = "$message" ] ||
    { echo "$*: expected: $message"; echo "got: $(cat "$work/error.txt")"; exit 1; }
  [ ! -s "$work/out.txt" ] || { echo "$*: printed to stdout"; exit 1; }
}
expect_error 1 "error: cannot open model file '$work/missing.h5': No such file or directory" --model="$work/missing.h5"
mkdir -p "$work/dir.h5"
expect_error 1 "error: '$work/dir.h5': expected (a model file), got (a directory)" --model="$work/dir.h5"
echo "this is not HDF5" > "$work/text.h5"
expect_error 1 "error: '$work/text.h5': expected (an HDF5 file, as model.save writes), got (17 bytes that are not one)" --model="$work/text.h5"
size=$(stat -c %s "$work/graph.h5")
for keep in 1000 $((size / 2)) $((size - 100)); do
  head -c "$keep" "$work/graph.h5" > "$work/cut.h5"
  expect_error 1 "" --model="$work/cut.h5"
  grep -qF "error: '$work/cut.h5'" "$work/error.txt" || { echo "cut at $keep:"; cat "$work/error.txt"; exit 1; }
done

# Bad command lines: exit 2.
expect_error 2 "error: --model is required: a model file (model.save's HDF5), e.g. --model=\$PWD/imdb_lstm.h5"
expect_error 2 "" --model="$work/graph.h5" --no_such_flag
expect_error 2 "error: unexpected argument 'extra': this program takes flags only (--name=value); see --help" --model="$work/graph.h5" extra
echo "summary: tables, compile settings, weights and errors as expected"
