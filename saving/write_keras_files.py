"""Writes model files as tf.keras 2.4-2.15 write them, for saving/keras_files_test.cc.

Usage: write_keras_files.py DIR. Writes DIR/<case>.h5 and DIR/expected.json: for each case the
inputs, the predictions computed here with numpy (by the equations of Keras' layers, not by
seqlearn), and the optimizer state the file holds.

The layout follows keras-team/keras keras/saving/legacy/hdf5_format.py (v2.11.0, the same at
v2.6.0, v2.13.1 and v2.15.0), written with h5py as Keras does:
  - save_model_to_hdf5: the root attributes keras_version and backend are Python str, which h5py
    stores as variable-length strings; model_config and training_config are
    json.dumps(...).encode("utf8"), bytes, stored as fixed-length strings.
  - save_weights_to_hdf5_group: layer_names (bytes), backend and keras_version (bytes), a group
    per layer with weight_names (bytes) and one dataset per weight.
  - save_optimizer_weights_to_hdf5_group: optimizer_weights with weight_names and the datasets.
  - save_attributes_to_hdf5_group: a list over 64512 bytes is split into name0, name1, ...
The configs are listed by hand from the get_config methods of the same tag (see the comments of
each case).
"""

import json
import os
import struct
import sys

import h5py
import numpy as np

HDF5_OBJECT_HEADER_LIMIT = 64512


def string_list_attribute(group, name, values):
    """A list of bytes, split into chunks under HDF5's object header limit as Keras does."""
    data = np.asarray(values)
    chunks = 1
    parts = np.array_split(data, chunks)
    while any(part.nbytes > HDF5_OBJECT_HEADER_LIMIT for part in parts):
        chunks += 1
        parts = np.array_split(data, chunks)
    if chunks > 1:
        for index, part in enumerate(parts):
            group.attrs["%s%d" % (name, index)] = part
    else:
        group.attrs[name] = data


def save(path, keras_version, model_config, training_config, layers, optimizer_weights,
         json_as_str=False):
    """layers: [(layer name, [(weight name, array)])] in model.layers' order."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = keras_version  # str: variable-length
        f.attrs["backend"] = "tensorflow"  # str: variable-length
        for key, value in (("model_config", model_config), ("training_config", training_config)):
            if value is None:
                continue
            text = json.dumps(value)
            # json_as_str: what h5py stores for a str, as a script writing its own file may.
            f.attrs[key] = text if json_as_str else text.encode("utf8")
        weights = f.create_group("model_weights")
        string_list_attribute(weights, "layer_names", [n.encode("utf8") for n, _ in layers])
        weights.attrs["backend"] = "tensorflow".encode("utf8")
        weights.attrs["keras_version"] = keras_version.encode("utf8")
        for name, values in sorted(layers, key=lambda layer: layer[0]):
            group = weights.create_group(name)
            string_list_attribute(group, "weight_names", [w.encode("utf8") for w, _ in values])
            for weight_name, value in values:
                dataset = group.create_dataset(weight_name, value.shape, dtype=value.dtype)
                if value.shape:
                    dataset[:] = value
                else:
                    dataset[()] = value
        if optimizer_weights:
            group = f.create_group("optimizer_weights")
            names = [n.encode("utf8") for n, _ in optimizer_weights]
            string_list_attribute(group, "weight_names", names)
            for name, value in zip(names, [v for _, v in optimizer_weights]):
                dataset = group.create_dataset(name, value.shape, dtype=value.dtype)
                if value.shape:
                    dataset[:] = value
                else:
                    dataset[()] = value


# ---- Keras' configs, by hand -----------------------------------------------------------------


def initializer(class_name, shared_object_id=None):
    config = {"seed": None}
    if class_name == "Orthogonal":
        config = {"gain": 1.0, "seed": None}
    if class_name == "Zeros":
        config = {}
    entry = {"class_name": class_name, "config": config}
    if shared_object_id is not None:
        entry["shared_object_id"] = shared_object_id
    return entry


def input_layer(name, batch_input_shape):
    # keras/engine/input_layer.py InputLayer.get_config.
    return {"class_name": "InputLayer",
            "config": {"batch_input_shape": batch_input_shape, "dtype": "float32",
                       "sparse": False, "ragged": False, "name": name}}


def embedding(name, input_dim, output_dim, mask_zero):
    # keras/layers/core/embedding.py: input_length None, batch_input_shape [None, None].
    return {"class_name": "Embedding",
            "config": {"name": name, "trainable": True, "batch_input_shape": [None, None],
                       "dtype": "float32", "input_dim": input_dim, "output_dim": output_dim,
                       "embeddings_initializer": {"class_name": "RandomUniform",
                                                  "config": {"minval": -0.05, "maxval": 0.05,
                                                             "seed": None}},
                       "embeddings_regularizer": None, "activity_regularizer": None,
                       "embeddings_constraint": None, "mask_zero": mask_zero,
                       "input_length": None}}


def recurrent(class_name, name, units, return_sequences=False, ids=None):
    # keras/layers/rnn/base_rnn.py RNN.get_config, then lstm.py / gru.py / simple_rnn.py.
    ids = ids or (None, None, None)
    config = {"name": name, "trainable": True, "dtype": "float32",
              "return_sequences": return_sequences, "return_state": False,
              "go_backwards": False, "stateful": False, "unroll": False, "time_major": False,
              "units": units, "activation": "tanh"}
    if class_name != "SimpleRNN":
        config["recurrent_activation"] = "sigmoid"
    config.update({"use_bias": True,
                   "kernel_initializer": initializer("GlorotUniform", ids[0]),
                   "recurrent_initializer": initializer("Orthogonal", ids[1]),
                   "bias_initializer": initializer("Zeros", ids[2])})
    if class_name == "LSTM":
        config["unit_forget_bias"] = True
    config.update({"kernel_regularizer": None, "recurrent_regularizer": None,
                   "bias_regularizer": None, "activity_regularizer": None,
                   "kernel_constraint": None, "recurrent_constraint": None,
                   "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0})
    if class_name != "SimpleRNN":
        config["implementation"] = 2
    if class_name == "GRU":
        config["reset_after"] = True
    return {"class_name": class_name, "config": config}


def dense(name, units, activation):
    # keras/layers/core/dense.py Dense.get_config.
    return {"class_name": "Dense",
            "config": {"name": name, "trainable": True, "dtype": "float32", "units": units,
                       "activation": activation, "use_bias": True,
                       "kernel_initializer": initializer("GlorotUniform"),
                       "bias_initializer": initializer("Zeros"), "kernel_regularizer": None,
                       "bias_regularizer": None, "activity_regularizer": None,
                       "kernel_constraint": None, "bias_constraint": None}}


def layer_base(class_name, name, **config):
    # keras/engine/base_layer.py Layer.get_config: name, trainable, dtype, then the class' own.
    return {"class_name": class_name,
            "config": dict({"name": name, "trainable": True, "dtype": "float32"}, **config)}


def node(entry, *inbound):
    # keras/engine/functional.py get_network_config: a layer of a Functional model and the
    # tensors it was called on.
    return dict(entry, name=entry["config"]["name"],
                inbound_nodes=[[[layer, 0, 0, {}] for layer in inbound]] if inbound else [])


def conv1d(name, filters, kernel_size, activation, **extra):
    # keras/layers/convolutional/base_conv.py Conv.get_config; conv1d.py's defaults.
    return layer_base("Conv1D", name, **extra, **{
        "filters": filters, "kernel_size": [kernel_size], "strides": [1], "padding": "valid",
        "data_format": "channels_last", "dilation_rate": [1], "groups": 1,
        "activation": activation, "use_bias": True,
        "kernel_initializer": initializer("GlorotUniform"),
        "bias_initializer": initializer("Zeros"), "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
        "bias_constraint": None})


def global_pooling(class_name, name):
    # keras/layers/pooling/base_global_pooling1d.py GlobalPooling1D.get_config.
    return layer_base(class_name, name, data_format="channels_last", keepdims=False)


def dropout(name, rate):
    return {"class_name": "Dropout",
            "config": {"name": name, "trainable": True, "dtype": "float32", "rate": rate,
                       "noise_shape": None, "seed": None}}


def optimizer_211(class_name, extra):
    # keras/optimizers/optimizer.py Optimizer.get_config (2.11-2.15), then the optimizer's own.
    config = {"name": class_name.split(">")[-1], "weight_decay": None, "clipnorm": None,
              "global_clipnorm": None, "clipvalue": None, "use_ema": False,
              "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": True,
              "is_legacy_optimizer": False}
    config.update(extra)
    return {"class_name": class_name, "config": config}


def wrapper_metric(fn):
    # keras/metrics/base_metric.py MeanMetricWrapper.get_config: compile's "accuracy" after fit.
    return {"class_name": "MeanMetricWrapper",
            "config": {"name": "accuracy", "dtype": "float32", "fn": fn}}


# ---- The layers' equations, in numpy ---------------------------------------------------------


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm(x, mask, kernel, recurrent_kernel, bias):
    units = recurrent_kernel.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros((x.shape[0], units))
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        i, f = sigmoid(z[:, :units]), sigmoid(z[:, units:2 * units])
        g, o = np.tanh(z[:, 2 * units:3 * units]), sigmoid(z[:, 3 * units:])
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        keep = mask[:, t:t + 1]  # a masked step carries the state over
        c = np.where(keep, c_new, c)
        h = np.where(keep, h_new, h)
    return h


def gru_sequences(x, kernel, recurrent_kernel, bias):
    # reset_after=True: bias[0] for the input, bias[1] for the recurrent part.
    units = recurrent_kernel.shape[0]
    h = np.zeros((x.shape[0], units))
    outputs = []
    for t in range(x.shape[1]):
        xz = x[:, t] @ kernel + bias[0]
        hz = h @ recurrent_kernel + bias[1]
        z = sigmoid(xz[:, :units] + hz[:, :units])
        r = sigmoid(xz[:, units:2 * units] + hz[:, units:2 * units])
        candidate = np.tanh(xz[:, 2 * units:] + r * hz[:, 2 * units:])
        h = z * h + (1 - z) * candidate
        outputs.append(h)
    return np.stack(outputs, axis=1)


def simple_rnn(x, kernel, recurrent_kernel, bias):
    h = np.zeros((x.shape[0], recurrent_kernel.shape[0]))
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent_kernel + bias)
    return h


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def floats(rng, *shape):
    return rng.uniform(-0.6, 0.6, size=shape).astype(np.float32)


# ---- The cases -------------------------------------------------------------------------------


def trained_sequential(directory, expected, rng):
    """tf.keras 2.11: Sequential, Embedding without input_length (mask_zero) -> LSTM -> Dense,
    trained: metrics as MeanMetricWrapper, a loss object, the 2.11 Adam and its weights."""
    emb = floats(rng, 12, 3)
    kernel, recurrent_kernel, bias = floats(rng, 3, 16), floats(rng, 4, 16), floats(rng, 16)
    dense_kernel, dense_bias = floats(rng, 4, 1), floats(rng, 1)
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        input_layer("embedding_input", [None, None]),
        embedding("embedding", 12, 3, True),
        recurrent("LSTM", "lstm", 4),
        dense("dense", 1, "sigmoid")]}}
    training_config = {
        "loss": {"class_name": "BinaryCrossentropy",
                 "config": {"reduction": "auto", "name": "binary_crossentropy",
                            "from_logits": False, "label_smoothing": 0.0, "axis": -1}},
        "metrics": [[wrapper_metric("binary_accuracy")]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": optimizer_211("Adam", {"learning_rate": 0.0010000000474974513,
                                                   "beta_1": 0.9, "beta_2": 0.999,
                                                   "epsilon": 1e-07, "amsgrad": False})}
    weights = [("embedding/embeddings:0", emb), ("lstm/lstm_cell/kernel:0", kernel),
               ("lstm/lstm_cell/recurrent_kernel:0", recurrent_kernel),
               ("lstm/lstm_cell/bias:0", bias), ("dense/kernel:0", dense_kernel),
               ("dense/bias:0", dense_bias)]
    layers = [("embedding", weights[0:1]), ("lstm", weights[1:4]), ("dense", weights[4:6])]
    # keras/optimizers/optimizer.py (2.11): iteration, then Adam's build() interleaves m and v
    # weight by weight, each named "<slot>/<weight>".
    slots = {"m": [], "v": []}
    optimizer = [("iteration:0", np.array(7, dtype=np.int64))]
    for name, value in weights:
        m, v = floats(rng, *value.shape), np.abs(floats(rng, *value.shape))
        slots["m"].append(m)
        slots["v"].append(v)
        optimizer += [("m/" + name, m), ("v/" + name, v)]
    save(os.path.join(directory, "trained_sequential_2_11.h5"), "2.11.0", model_config,
         training_config, layers, optimizer)
    tokens = np.array([[0, 0, 3, 5, 7], [1, 2, 3, 4, 11], [0, 0, 0, 0, 9]])
    h = lstm(emb[tokens], tokens != 0, kernel, recurrent_kernel, bias)
    y = sigmoid(h @ dense_kernel + dense_bias)
    expected["trained_sequential_2_11"] = {
        "x": tokens.tolist(), "y": y.tolist(), "iterations": 7,
        "slots": {k: [a.ravel().tolist() for a in v] for k, v in slots.items()}}
    # The same file with its JSON stored as str (variable-length), as a script may write it.
    save(os.path.join(directory, "json_as_str.h5"), "2.11.0", model_config, training_config,
         layers, optimizer, json_as_str=True)
    expected["json_as_str"] = expected["trained_sequential_2_11"]

    # Files from a newer Keras, or with values this library does not implement.
    unknown = json.loads(json.dumps(model_config))
    unknown["config"]["layers"].insert(3, {"class_name": "LayerNormalization", "config": {
        "name": "layer_normalization", "trainable": True, "dtype": "float32", "axis": [1],
        "epsilon": 0.001, "center": True, "scale": True}})
    save(os.path.join(directory, "unknown_layer_class.h5"), "2.15.0", unknown, training_config,
         layers, optimizer)
    regularized = json.loads(json.dumps(model_config))
    regularized["config"]["layers"][2]["config"]["kernel_regularizer"] = {
        "class_name": "L2", "config": {"l2": 0.01}}
    save(os.path.join(directory, "regularizer.h5"), "2.11.0", regularized, training_config,
         layers, optimizer)
    ema = json.loads(json.dumps(training_config))
    ema["optimizer_config"]["config"]["use_ema"] = True
    save(os.path.join(directory, "use_ema.h5"), "2.11.0", model_config, ema, layers, optimizer)


def functional_2_13(directory, expected, rng):
    """tf.keras 2.13: Functional, Input of any length -> GRU (sequences) -> Bidirectional(SimpleRNN)
    -> Dense softmax; a CategoricalCrossentropy object and the 2.13 RMSprop ("Custom>RMSprop")."""
    gru_kernel, gru_recurrent, gru_bias = floats(rng, 2, 9), floats(rng, 3, 9), floats(rng, 2, 9)
    fw = [floats(rng, 3, 2), floats(rng, 2, 2), floats(rng, 2)]
    bw = [floats(rng, 3, 2), floats(rng, 2, 2), floats(rng, 2)]
    out_kernel, out_bias = floats(rng, 4, 3), floats(rng, 3)
    # keras/engine/functional.py get_network_config: shared_object_id on the recurrent layers'
    # initializers (serialized twice: by the layer and by its cell).
    gru = recurrent("GRU", "gru", 3, return_sequences=True, ids=(0, 1, 2))
    inner = recurrent("SimpleRNN", "simple_rnn", 2, ids=(5, 6, 7))
    layers_config = [
        dict(input_layer("series", [None, None, 2]), name="series", inbound_nodes=[]),
        dict(gru, name="gru", inbound_nodes=[[["series", 0, 0, {}]]]),
        {"class_name": "Bidirectional",
         "config": {"name": "bidirectional", "trainable": True, "dtype": "float32",
                    "layer": inner, "merge_mode": "concat"},
         "name": "bidirectional", "inbound_nodes": [[["gru", 0, 0, {}]]]},
        dict(dense("dense", 3, "softmax"), name="dense",
             inbound_nodes=[[["bidirectional", 0, 0, {}]]]),
    ]
    model_config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers_config, "input_layers": [["series", 0, 0]],
        "output_layers": [["dense", 0, 0]]}}
    training_config = {
        "loss": {"class_name": "CategoricalCrossentropy",
                 "config": {"reduction": "auto", "name": "categorical_crossentropy",
                            "from_logits": False, "label_smoothing": 0.0, "axis": -1}},
        "metrics": [[wrapper_metric("categorical_accuracy")]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": optimizer_211("Custom>RMSprop", {
            "learning_rate": 0.0010000000474974513, "rho": 0.9, "momentum": 0.5,
            "epsilon": 1e-07, "centered": False})}
    weights = [("gru/gru_cell/kernel:0", gru_kernel),
               ("gru/gru_cell/recurrent_kernel:0", gru_recurrent), ("gru/gru_cell/bias:0", gru_bias),
               ("bidirectional/forward_simple_rnn/simple_rnn_cell/kernel:0", fw[0]),
               ("bidirectional/forward_simple_rnn/simple_rnn_cell/recurrent_kernel:0", fw[1]),
               ("bidirectional/forward_simple_rnn/simple_rnn_cell/bias:0", fw[2]),
               ("bidirectional/backward_simple_rnn/simple_rnn_cell/kernel:0", bw[0]),
               ("bidirectional/backward_simple_rnn/simple_rnn_cell/recurrent_kernel:0", bw[1]),
               ("bidirectional/backward_simple_rnn/simple_rnn_cell/bias:0", bw[2]),
               ("dense/kernel:0", out_kernel), ("dense/bias:0", out_bias)]
    layers = [("series", []), ("gru", weights[0:3]), ("bidirectional", weights[3:9]),
              ("dense", weights[9:11])]
    # RMSprop's build(): every velocity, then every momentum; here under the optimizer's name
    # scope.
    slots = {"rms": [], "momentum": []}
    optimizer = [("RMSprop/iteration:0", np.array(3, dtype=np.int64))]
    for slot, ours in (("velocity", "rms"), ("momentum", "momentum")):
        for name, value in weights:
            array = np.abs(floats(rng, *value.shape))
            slots[ours].append(array)
            optimizer.append(("RMSprop/%s/%s" % (slot, name), array))
    save(os.path.join(directory, "functional_2_13.h5"), "2.13.1", model_config, training_config,
         layers, optimizer)
    cases = {}
    for steps in (1, 4, 7):
        x = floats(rng, 2, steps, 2)
        sequences = gru_sequences(x, gru_kernel, gru_recurrent, gru_bias)
        merged = np.concatenate([simple_rnn(sequences, *fw), simple_rnn(sequences[:, ::-1], *bw)],
                                axis=-1)
        cases[str(steps)] = {"x": x.tolist(), "y": softmax(merged @ out_kernel + out_bias).tolist()}
    expected["functional_2_13"] = {
        "lengths": cases, "iterations": 3,
        "slots": {k: [a.ravel().tolist() for a in v] for k, v in slots.items()}}


def legacy_sequential_2_4(directory, expected, rng):
    """tf.keras 2.4: Sequential of fixed shape, Dense -> Dropout -> Dense, compiled with names
    (not trained: metrics as given), the optimizer_v2 Adam and its weights."""
    k1, b1, k2, b2 = floats(rng, 4, 3), floats(rng, 3), floats(rng, 3, 1), floats(rng, 1)
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        input_layer("dense_input", [None, 4]),
        dict(dense("dense", 3, "relu"),
             config=dict(dense("dense", 3, "relu")["config"], batch_input_shape=[None, 4])),
        dropout("dropout", 0.5),
        dense("dense_1", 1, "sigmoid")]}}
    training_config = {
        "loss": "binary_crossentropy", "metrics": ["accuracy"], "weighted_metrics": None,
        "loss_weights": None, "sample_weight_mode": None,
        "optimizer_config": {"class_name": "Adam", "config": {
            "name": "Adam", "learning_rate": 0.0010000000474974513, "decay": 0.0,
            "beta_1": 0.8999999761581421, "beta_2": 0.9990000128746033, "epsilon": 1e-07,
            "amsgrad": False}}}
    weights = [("dense/kernel:0", k1), ("dense/bias:0", b1), ("dense_1/kernel:0", k2),
               ("dense_1/bias:0", b2)]
    layers = [("dense", weights[0:2]), ("dropout", []), ("dense_1", weights[2:4])]
    # optimizer_v2: "<name>/iter", then every weight's m, then every weight's v.
    slots = {"m": [], "v": []}
    optimizer = [("Adam/iter:0", np.array(2, dtype=np.int64))]
    for slot in ("m", "v"):
        for name, value in weights:
            array = np.abs(floats(rng, *value.shape))
            slots[slot].append(array)
            optimizer.append(("Adam/%s/%s:0" % (name[:-2], slot), array))
    save(os.path.join(directory, "legacy_sequential_2_4.h5"), "2.4.0", model_config,
         training_config, layers, optimizer)
    x = floats(rng, 5, 4)
    y = sigmoid(np.maximum(x @ k1 + b1, 0) @ k2 + b2)
    expected["legacy_sequential_2_4"] = {
        "x": x.tolist(), "y": y.tolist(), "iterations": 2,
        "slots": {k: [a.ravel().tolist() for a in v] for k, v in slots.items()}}


def damage_global_heap(directory, name):
    """Two copies of DIR/name.h5 with the global heap damaged (the HDF5 file format
    specification, "Global Heap"): its first object declares 2**40 bytes; the reference to
    heap object 1 (its length, 4 bytes, then the collection's address, 8, and the index, 4)
    declares 2**28 bytes more than the object holds."""
    with open(os.path.join(directory, name + ".h5"), "rb") as f:
        data = bytearray(f.read())
    heap = data.find(b"GCOL")
    overrun = bytearray(data)
    overrun[heap + 24:heap + 32] = struct.pack("<Q", 2 ** 40)
    with open(os.path.join(directory, "heap_object_overrun.h5"), "wb") as f:
        f.write(overrun)
    reference = data.find(struct.pack("<QI", heap, 1))
    length = struct.unpack("<I", data[reference - 4:reference])[0]
    longer = bytearray(data)
    longer[reference - 4:reference] = struct.pack("<I", length + 2 ** 28)
    with open(os.path.join(directory, "heap_reference_length.h5"), "wb") as f:
        f.write(longer)


def tiny_dense_2_11(directory, expected, rng):
    """tf.keras 2.11, the smallest trained model (InputLayer -> Dense), for flipping every byte:
    variable-length strings, a MeanMetricWrapper, the 2.11 SGD (momentum variables without
    momentum)."""
    kernel, bias = floats(rng, 2, 1), floats(rng, 1)
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        input_layer("dense_input", [None, 2]),
        dict(dense("dense", 1, "sigmoid"),
             config=dict(dense("dense", 1, "sigmoid")["config"], batch_input_shape=[None, 2]))]}}
    training_config = {
        "loss": "binary_crossentropy", "metrics": [[wrapper_metric("binary_accuracy")]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": optimizer_211("SGD", {"learning_rate": 0.009999999776482582,
                                                  "momentum": 0.0, "nesterov": False})}
    weights = [("dense/kernel:0", kernel), ("dense/bias:0", bias)]
    optimizer = [("iteration:0", np.array(4, dtype=np.int64))]
    optimizer += [("m/" + name, np.zeros_like(value)) for name, value in weights]
    save(os.path.join(directory, "tiny_dense_2_11.h5"), "2.11.0", model_config, training_config,
         [("dense", weights)], optimizer)
    damage_global_heap(directory, "tiny_dense_2_11")
    # The file whose every byte the test flips: the same, compiled but not trained (Keras then
    # writes no optimizer_weights), the smallest file with Keras' strings and configs.
    save(os.path.join(directory, "compiled_dense_2_11.h5"), "2.11.0", model_config,
         training_config, [("dense", weights)], None)
    x = floats(rng, 3, 2)
    expected["tiny_dense_2_11"] = {"x": x.tolist(), "y": sigmoid(x @ kernel + bias).tolist(),
                                   "iterations": 4, "slots": {}}


def sequential_pooling_2_11(directory, expected, rng):
    """tf.keras 2.11: Sequential, Conv1D -> MaxPooling1D -> TimeDistributed(Dense) -> Activation
    -> GlobalMaxPooling1D -> RepeatVector -> GlobalAveragePooling1D -> Dense, not compiled."""
    conv_kernel, conv_bias = floats(rng, 2, 2, 3), floats(rng, 3)
    td_kernel, td_bias = floats(rng, 3, 2), floats(rng, 2)
    out_kernel, out_bias = floats(rng, 2, 1), floats(rng, 1)
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        input_layer("conv1d_input", [None, 7, 2]),
        conv1d("conv1d", 3, 2, "relu", batch_input_shape=[None, 7, 2]),
        # keras/layers/pooling/base_pooling1d.py Pooling1D.get_config: strides None ->
        # pool_size, both tuples.
        layer_base("MaxPooling1D", "max_pooling1d", strides=[2], pool_size=[2],
                   padding="valid", data_format="channels_last"),
        # keras/layers/rnn/base_wrapper.py Wrapper.get_config: the wrapped layer's config.
        layer_base("TimeDistributed", "time_distributed", layer=dense("dense", 2, "linear")),
        layer_base("Activation", "activation", activation="tanh"),
        global_pooling("GlobalMaxPooling1D", "global_max_pooling1d"),
        layer_base("RepeatVector", "repeat_vector", n=3),
        global_pooling("GlobalAveragePooling1D", "global_average_pooling1d"),
        dense("dense_1", 1, "sigmoid")]}}
    # TimeDistributed builds its layer inside its own name scope: its weights carry its name.
    layers = [("conv1d", [("conv1d/kernel:0", conv_kernel), ("conv1d/bias:0", conv_bias)]),
              ("max_pooling1d", []),
              ("time_distributed", [("time_distributed/kernel:0", td_kernel),
                                    ("time_distributed/bias:0", td_bias)]),
              ("activation", []), ("global_max_pooling1d", []), ("repeat_vector", []),
              ("global_average_pooling1d", []),
              ("dense_1", [("dense_1/kernel:0", out_kernel), ("dense_1/bias:0", out_bias)])]
    save(os.path.join(directory, "sequential_pooling_2_11.h5"), "2.11.0", model_config, None,
         layers, None)
    x = floats(rng, 3, 7, 2)
    # Conv1D, valid padding, stride 1: y[t] = x[t] W[0] + x[t + 1] W[1] + b.
    conv = np.maximum(np.stack([x[:, t] @ conv_kernel[0] + x[:, t + 1] @ conv_kernel[1]
                                for t in range(6)], axis=1) + conv_bias, 0)
    pooled = np.maximum(conv[:, 0::2], conv[:, 1::2])  # windows of 2, stride 2: 6 -> 3 steps
    steps = np.tanh(pooled @ td_kernel + td_bias)
    repeated = np.repeat(steps.max(axis=1)[:, None, :], 3, axis=1)
    y = sigmoid(repeated.mean(axis=1) @ out_kernel + out_bias)
    expected["sequential_pooling_2_11"] = {"x": x.tolist(), "y": y.tolist()}
    # The same of any length (Input(shape=(None, 2))): Keras writes None for the time axis.
    any_length = json.loads(json.dumps(model_config))
    any_length["config"]["layers"][0]["config"]["batch_input_shape"] = [None, None, 2]
    any_length["config"]["layers"][1]["config"]["batch_input_shape"] = [None, None, 2]
    save(os.path.join(directory, "sequential_pooling_any_length_2_11.h5"), "2.11.0", any_length,
         None, layers, None)


def masking_2_15(directory, expected, rng):
    """tf.keras 2.15: Sequential of any length, Masking -> GlobalAveragePooling1D (the mean over
    the steps the mask keeps) -> Dense."""
    kernel, bias = floats(rng, 2, 2), floats(rng, 2)
    model_config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        input_layer("masking_input", [None, None, 2]),
        # keras/layers/core/masking.py Masking.get_config.
        layer_base("Masking", "masking", batch_input_shape=[None, None, 2], mask_value=0.0),
        global_pooling("GlobalAveragePooling1D", "global_average_pooling1d"),
        dense("dense", 2, "softmax")]}}
    save(os.path.join(directory, "masking_2_15.h5"), "2.15.0", model_config, None,
         [("masking", []), ("global_average_pooling1d", []),
          ("dense", [("dense/kernel:0", kernel), ("dense/bias:0", bias)])], None)
    x = floats(rng, 3, 5, 2)
    x[0, :2] = 0.0  # pre-padded
    x[1, 2] = 0.0  # a masked step inside
    x[2, 1, 0] = 0.0  # one feature zero: kept
    keep = np.any(x != 0.0, axis=-1, keepdims=True)
    mean = (x * keep).sum(axis=1) / keep.sum(axis=1)
    expected["masking_2_15"] = {"x": x.tolist(), "y": softmax(mean @ kernel + bias).tolist()}


def functional_attention_2_11(directory, expected, rng):
    """tf.keras 2.11: Functional with two inputs of any length, Attention (dot, no scale) and
    Attention (concat, use_scale), Add, Subtract, Multiply, Average, AdditiveAttention,
    Concatenate, Dense."""
    concat_scale, concat_weight = np.float32(1.3), np.float32(0.7)
    additive_scale = floats(rng, 4)
    kernel, bias = floats(rng, 8, 2), floats(rng, 2)

    def attention(name, use_scale, score_mode):
        # keras/layers/attention/base_dense_attention.py and attention.py get_config.
        return layer_base("Attention", name, dropout=0.0, use_scale=use_scale,
                          score_mode=score_mode)

    layers_config = [
        node(input_layer("query", [None, None, 4])),
        node(input_layer("value", [None, None, 4])),
        node(attention("attention", False, "dot"), "query", "value"),
        node(attention("attention_1", True, "concat"), "query", "value"),
        node(layer_base("Add", "add"), "attention", "attention_1"),
        node(layer_base("Subtract", "subtract"), "attention", "attention_1"),
        node(layer_base("Multiply", "multiply"), "add", "subtract"),
        node(layer_base("Average", "average"), "query", "multiply", "add"),
        # keras/layers/attention/additive_attention.py get_config.
        node(layer_base("AdditiveAttention", "additive_attention", dropout=0.0, use_scale=True),
             "average", "value"),
        node(layer_base("Concatenate", "concatenate", axis=-1), "average", "additive_attention"),
        node(dense("dense", 2, "linear"), "concatenate"),
    ]
    model_config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers_config,
        "input_layers": [["query", 0, 0], ["value", 0, 0]], "output_layers": [["dense", 0, 0]]}}
    weights = {"attention_1": [("attention_1/scale:0", np.array(concat_scale)),
                               ("attention_1/concat_score_weight:0", np.array(concat_weight))],
               "additive_attention": [("additive_attention/scale:0", additive_scale)],
               "dense": [("dense/kernel:0", kernel), ("dense/bias:0", bias)]}
    save(os.path.join(directory, "functional_attention_2_11.h5"), "2.11.0", model_config, None,
         [(entry["name"], weights.get(entry["name"], [])) for entry in layers_config], None)

    def attend(scores, value):
        return softmax(scores) @ value

    cases = {}
    for query_steps, value_steps in ((3, 5), (1, 2)):
        q, v = floats(rng, 2, query_steps, 4), floats(rng, 2, value_steps, 4)
        pairs = q[:, :, None, :] + v[:, None, :, :]  # [batch, Tq, Tv, dim]
        dot = attend(q @ v.transpose(0, 2, 1), v)
        concat = attend(concat_weight * np.tanh(concat_scale * pairs).sum(axis=-1), v)
        added, subtracted = dot + concat, dot - concat
        average = (q + added * subtracted + added) / 3
        additive = attend((additive_scale * np.tanh(average[:, :, None, :] + v[:, None, :, :]))
                          .sum(axis=-1), v)
        y = np.concatenate([average, additive], axis=-1) @ kernel + bias
        cases["%d_%d" % (query_steps, value_steps)] = {"query": q.tolist(), "value": v.tolist(),
                                                      "y": y.tolist()}
    expected["functional_attention_2_11"] = cases


def main():
    directory = sys.argv[1]
    rng = np.random.default_rng(21)
    expected = {}
    trained_sequential(directory, expected, rng)
    functional_2_13(directory, expected, rng)
    legacy_sequential_2_4(directory, expected, rng)
    tiny_dense_2_11(directory, expected, rng)
    sequential_pooling_2_11(directory, expected, rng)
    masking_2_15(directory, expected, rng)
    functional_attention_2_11(directory, expected, rng)
    with open(os.path.join(directory, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
