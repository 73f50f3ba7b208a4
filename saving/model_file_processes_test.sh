#!/usr/bin/env bash
# Model files across processes: (1) the layout, read back by HDF5's own tools and compared with
# what Keras' naming rules give, written out by hand below; (2) training 2 epochs, saving, and
# resuming in a new process for 3 more gives the weights of 5 epochs in one process, bit for bit.
set -euo pipefail
tool="$1"
work="${TEST_TMPDIR:-$(mktemp -d)}"
normalize() { sed -E 's/[[:space:]]+/ /g; s/ $//'; }
# An attribute's values on one line, without h5dump's "(2): " indices and NUL padding ("\000").
values() { h5dump -a "$1" "$2" | tr -d '\n' | sed -E 's/\\000//g; s/\([0-9]+\): //g' | normalize; }

"$tool" fit 1 "$work/one.h5"

# Embedding(30, 4) -> Bidirectional(LSTM(3)) -> Dropout -> Dense(1): Keras puts each layer's
# weights in a group named after the layer, under the weight's own name: <layer>/<cell>/<weight>:0
# for recurrent layers (cell lstm_cell), <bidirectional>/forward_lstm/... and backward_lstm/...;
# Dropout has a group and no weights. LSTM kernels are [input, 4 units], recurrent kernels
# [units, 4 units], biases [4 units]; Dense's kernel is [2 x 3 (concat), 1].
cat > "$work/expected_weights" <<'LIST'
/model_weights Group
/model_weights/bidirectional Group
/model_weights/bidirectional/bidirectional Group
/model_weights/bidirectional/bidirectional/backward_lstm Group
/model_weights/bidirectional/bidirectional/backward_lstm/lstm_cell Group
/model_weights/bidirectional/bidirectional/backward_lstm/lstm_cell/bias:0 Dataset {12}
/model_weights/bidirectional/bidirectional/backward_lstm/lstm_cell/kernel:0 Dataset {4, 12}
/model_weights/bidirectional/bidirectional/backward_lstm/lstm_cell/recurrent_kernel:0 Dataset {3, 12}
/model_weights/bidirectional/bidirectional/forward_lstm Group
/model_weights/bidirectional/bidirectional/forward_lstm/lstm_cell Group
/model_weights/bidirectional/bidirectional/forward_lstm/lstm_cell/bias:0 Dataset {12}
/model_weights/bidirectional/bidirectional/forward_lstm/lstm_cell/kernel:0 Dataset {4, 12}
/model_weights/bidirectional/bidirectional/forward_lstm/lstm_cell/recurrent_kernel:0 Dataset {3, 12}
/model_weights/dense Group
/model_weights/dense/dense Group
/model_weights/dense/dense/bias:0 Dataset {1}
/model_weights/dense/dense/kernel:0 Dataset {6, 1}
/model_weights/dropout Group
/model_weights/embedding Group
/model_weights/embedding/embedding Group
/model_weights/embedding/embedding/embeddings:0 Dataset {30, 4}
LIST
h5ls -r "$work/one.h5" | normalize | grep '^/model_weights' > "$work/got_weights"
diff -u "$work/expected_weights" "$work/got_weights"

# Adam's state as Keras names it: the step count, then m and v for every weight.
h5ls -r "$work/one.h5" | normalize > "$work/listing"
for line in \
  "/optimizer_weights/Adam/iter:0 Dataset {SCALAR}" \
  "/optimizer_weights/Adam/embedding/embeddings/m:0 Dataset {30, 4}" \
  "/optimizer_weights/Adam/bidirectional/forward_lstm/lstm_cell/kernel/v:0 Dataset {4, 12}" \
  "/optimizer_weights/Adam/dense/bias/v:0 Dataset {1}" \
  "/training_state/order Dataset {12}"; do
  grep -qxF "$line" "$work/listing" || { echo "missing from h5ls -r: $line"; exit 1; }
done
[ "$(grep -c '^/optimizer_weights/Adam/.*:0 Dataset' "$work/listing")" -eq $((1 + 2 * 9)) ] ||
  { echo "expected 19 optimizer arrays (iter + m, v for 9 weights)"; exit 1; }

# The attributes Keras' loader reads.
h5dump -A -H "$work/one.h5" | normalize | grep -oE 'ATTRIBUTE "[a-z_]+"' | sort -u > "$work/attributes"
cat > "$work/expected_attributes" <<'LIST'
ATTRIBUTE "backend"
ATTRIBUTE "epochs"
ATTRIBUTE "keras_version"
ATTRIBUTE "layer_names"
ATTRIBUTE "model_config"
ATTRIBUTE "rng"
ATTRIBUTE "training_config"
ATTRIBUTE "weight_names"
LIST
diff -u "$work/expected_attributes" "$work/attributes"
values /model_weights/layer_names "$work/one.h5" | grep -qF \
  'DATA { "embedding", "bidirectional", "dropout", "dense" }' ||
  { echo "layer_names is not embedding, bidirectional, dropout, dense"; exit 1; }
values /model_weights/dense/weight_names "$work/one.h5" | grep -qF \
  'DATA { "dense/kernel:0", "dense/bias:0" }' || { echo "dense's weight_names are wrong"; exit 1; }
h5dump -a /model_config "$work/one.h5" | grep -qF \
  '"class_name":"Bidirectional","config":{"name":"bidirectional","trainable":true,"dtype":"float32","layer":{"class_name":"LSTM"' ||
  { echo "model_config lacks the Bidirectional(LSTM) entry"; exit 1; }
h5dump -a /training_config "$work/one.h5" | grep -qF \
  '"loss":"binary_crossentropy","metrics":["acc"]' || { echo "training_config is wrong"; exit 1; }

# Resuming in a new process.
"$tool" fit 5 "$work/straight.h5"
"$tool" fit 2 "$work/first.h5"
"$tool" resume "$work/first.h5" 5 "$work/resumed.h5"
"$tool" print "$work/straight.h5" > "$work/straight.txt"
"$tool" print "$work/resumed.h5" > "$work/resumed.txt"
[ "$(wc -l < "$work/straight.txt")" -gt 300 ] || { echo "too few weights printed"; exit 1; }
cmp "$work/straight.txt" "$work/resumed.txt"
# ... and the 2-epoch model differs from both (the comparison can fail).
"$tool" print "$work/first.h5" > "$work/first.txt"
! cmp -s "$work/first.txt" "$work/straight.txt"
echo "model files: layout as Keras names it; resumed in a new process = trained at once"
