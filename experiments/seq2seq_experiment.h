// The main of seq2seq_lstm and seq2seq_attention (flags: see --help), apart from the models in
// experiments/seq2seq.h so that //tools:decode links none of these flags.
#ifndef EXPERIMENTS_SEQ2SEQ_EXPERIMENT_H_
#define EXPERIMENTS_SEQ2SEQ_EXPERIMENT_H_

namespace experiments {

// seq2seq_lstm (attention false) or seq2seq_attention.
int RunSeq2Seq(const char* name, bool attention, int argc, char** argv);

}  // namespace experiments

#endif  // EXPERIMENTS_SEQ2SEQ_EXPERIMENT_H_
