// Both references load, with ONNX Runtime's native CPU library, before any test leans on them.
const ort = require('onnxruntime-node');
const tf = require('@tensorflow/tfjs');

const dense = tf.layers.dense({units: 1, kernelInitializer: 'ones', biasInitializer: 'ones'});
const y = dense.apply(tf.tensor2d([[1, 2, 3]])).dataSync();
if (y[0] !== 7) throw new Error(`tfjs: Dense(ones) of [1, 2, 3]: expected 7, got ${y[0]}`);
console.log(`tfjs ${tf.version.tfjs}: Dense ok`);
const backends = ort.listSupportedBackends().map((b) => b.name);
if (!backends.includes('cpu')) throw new Error(`onnxruntime: no cpu backend in ${backends}`);
console.log(`onnxruntime-node: backends ${backends.join(', ')}`);
