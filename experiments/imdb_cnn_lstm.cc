// LSTM and convolutional neural network for sequence classification:
//   model.add(Embedding(top_words, embedding_vector_length, input_length=max_review_length))
//   model.add(Conv1D(filters=32, kernel_size=3, padding='same', activation='relu'))
//   model.add(MaxPooling1D(pool_size=2))
//   model.add(LSTM(100))
//   model.add(Dense(1, activation='sigmoid'))
// Tutorial: Accuracy: 86.36%
#include "experiments/imdb_experiment.h"
#include "layers/convolutional.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"

using namespace layers;

int main(int argc, char** argv) {
  return experiments::RunImdb(
      [](Sequential& model, const experiments::ImdbSizes& sizes) {
        model.Add(
            Embedding(sizes.top_words, sizes.embedding_vector_length, sizes.max_review_length));
        model.Add(Conv1D(32, 3, "same", "relu"));
        model.Add(MaxPooling1D(2));
        model.Add(LSTM(100));
        model.Add(Dense(1, "sigmoid"));
      },
      argc, argv);
}
