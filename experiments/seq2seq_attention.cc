// lstm_seq2seq with attention between the decoder's and the encoder's outputs (Luong's
// Attention, or AdditiveAttention with --attention=additive); draws the attention weights.
// --compare_without_attention trains seq2seq_lstm's model on the same data too.
#include "experiments/seq2seq_experiment.h"

int main(int argc, char** argv) {
  return experiments::RunSeq2Seq("seq2seq_attention", /*attention=*/true, argc, argv);
}
