// Simple LSTM for sequence classification in the IMDB dataset:
//   model.add(Embedding(top_words, embedding_vector_length, input_length=max_review_length))
//   model.add(LSTM(100))
//   model.add(Dense(1, activation='sigmoid'))
// Tutorial: Accuracy: 86.79%
#include "experiments/imdb_experiment.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"

using namespace layers;

int main(int argc, char** argv) {
  return experiments::RunImdb(
      [](Sequential& model, const experiments::ImdbSizes& sizes) {
        model.Add(
            Embedding(sizes.top_words, sizes.embedding_vector_length, sizes.max_review_length));
        model.Add(LSTM(100));
        model.Add(Dense(1, "sigmoid"));
      },
      argc, argv);
}
