// Runs an ONNX model in ONNX Runtime: node onnx_run.js model.onnx request.json response.json.
// request: {"inputs": [{"name", "dims", "data"}]}; response: {"outputs": [{"name", "dims",
// "data"}]}, in the model's output order.
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, requestPath, responsePath] = process.argv.slice(2);
  const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
  const session = await ort.InferenceSession.create(modelPath);
  const feeds = {};
  for (const input of request.inputs) {
    feeds[input.name] = new ort.Tensor('float32', Float32Array.from(input.data), input.dims);
  }
  const results = await session.run(feeds);
  const outputs = session.outputNames.map((name) => ({
                                            name,
                                            dims: results[name].dims,
                                            data: Array.from(results[name].data),
                                          }));
  fs.writeFileSync(responsePath, JSON.stringify({outputs}));
}

main().catch((error) => {
  console.error(`onnx_run: ${error.message}`);
  process.exit(1);
});
