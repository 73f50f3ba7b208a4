// Keras' lstm_seq2seq on a translation that needs no data file: dates in many human formats to
// ISO dates (--task=dates), or numbers in words to digits (--task=numbers); decoded greedily and
// with beam search. See experiments/seq2seq.cc for the listing.
#include "experiments/seq2seq_experiment.h"

int main(int argc, char** argv) {
  return experiments::RunSeq2Seq("seq2seq_lstm", /*attention=*/false, argc, argv);
}
