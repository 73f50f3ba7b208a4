// oneDNN's LSTM primitive (forward_training + backward, and forward_inference) on one layer, the
// reference that //tools:bench_imdb measures our whole training step against, and that
// onednn_lstm_test compares our LstmSequence's values and gradients with.
//
// Layouts are Keras': x [batch, time, input], kernel [input, 4 units], recurrent kernel
// [units, 4 units], bias [4 units], gates i, f, c, o (oneDNN's ldigo / ldgo order is the same).
// The initial states are explicit zero-filled memories: oneDNN 2.6.3 returns a wrong
// diff_weights_iter when they are passed as zero memory descriptors.
#ifndef TOOLS_ONEDNN_LSTM_H_
#define TOOLS_ONEDNN_LSTM_H_

#include <memory>
#include <vector>

namespace tools {

class OneDnnLstm {
 public:
  OneDnnLstm(int batch, int time, int input_dim, int units);
  OneDnnLstm(OneDnnLstm&&) noexcept;
  ~OneDnnLstm();

  void SetWeights(const std::vector<float>& kernel, const std::vector<float>& recurrent_kernel,
                  const std::vector<float>& bias);
  void SetInput(const std::vector<float>& x);            // [batch, time, input]
  void SetOutputGradient(const std::vector<float>& dy);  // [batch, time, units]

  void ForwardTraining();
  void Backward();  // after ForwardTraining
  void ForwardInference();

  std::vector<float> Output() const;          // [batch, time, units]
  std::vector<float> InputGradient() const;   // [batch, time, input]
  std::vector<float> KernelGradient() const;  // [input, 4 units]
  std::vector<float> RecurrentKernelGradient() const;
  std::vector<float> BiasGradient() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tools

#endif  // TOOLS_ONEDNN_LSTM_H_
