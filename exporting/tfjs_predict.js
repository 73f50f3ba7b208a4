// Loads TensorFlow.js layers models from directories and predicts: the independent reference of
// tfjs_node_test. Usage: node tfjs_predict.js CASE_DIR...; each CASE_DIR holds model/ (an export)
// and inputs.json; writes outputs.json there (see predictCase).
// In node without tfjs-node there is no file:// loader, so the files are read here and handed to
// tf.loadLayersModel as an IOHandler, as a browser's fetch would hand them over.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

function loadHandler(modelDir) {
  return {
    load: async () => {
      const modelJson = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
      const weightSpecs = [];
      const buffers = [];
      for (const group of modelJson.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const shard of group.paths) buffers.push(fs.readFileSync(path.join(modelDir, shard)));
      }
      const all = Buffer.concat(buffers);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
      return {
        modelTopology: modelJson.modelTopology,
        weightSpecs,
        weightData,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
      };
    },
  };
}

// inputs.json: a list of batches, each a list of arrays (one per model input); outputs.json:
// per batch, the list of outputs, or {"error": message} when the model did not load or run.
async function predictCase(caseDir) {
  const model = await tf.loadLayersModel(loadHandler(path.join(caseDir, 'model')));
  const batches = JSON.parse(fs.readFileSync(path.join(caseDir, 'inputs.json'), 'utf8'));
  return batches.map((batch) => {
    const inputs = batch.map((x) => tf.tensor(x.data, x.shape, 'float32'));
    let outputs = model.predict(inputs.length === 1 ? inputs[0] : inputs);
    if (!Array.isArray(outputs)) outputs = [outputs];
    return outputs.map((y) => ({shape: y.shape, data: Array.from(y.dataSync())}));
  });
}

async function main() {
  await tf.setBackend('cpu');
  for (const caseDir of process.argv.slice(2)) {
    let result;
    try {
      result = await predictCase(caseDir);
    } catch (error) {
      result = {error: error && error.stack ? error.stack : String(error)};
    }
    fs.writeFileSync(path.join(caseDir, 'outputs.json'), JSON.stringify(result));
  }
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
