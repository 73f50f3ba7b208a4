// imdb_bilstm with masking: the padding is masked and batches are bucketed by length, so both
// directions run only over the real words (the backward one no longer ends on padding):
//   model.add(Embedding(top_words, embedding_vector_length, input_length=max_review_length,
//                       mask_zero=True))
//   model.add(Bidirectional(LSTM(100)))
//   model.add(Dense(1, activation='sigmoid'))
//   model.fit(..., bucket_by_length)  (ours; Keras has no such flag)
// --compare_unmasked also trains imdb_bilstm itself and prints both.
// For scale: the 2011 paper that introduced the data set reached 88.89%.
#include "experiments/imdb_experiment.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"

using namespace layers;

int main(int argc, char** argv) {
  return experiments::RunImdb(
      [](Sequential& model, const experiments::ImdbSizes& sizes) {
        model.Add(Embedding(sizes.top_words, sizes.embedding_vector_length, sizes.max_review_length,
                            sizes.mask_zero));
        model.Add(Bidirectional(LSTM(100)));
        model.Add(Dense(1, "sigmoid"));
      },
      argc, argv, /*masked=*/true);
}
