// Airline tweet sentiment, Embedding(vocab + 1, 32) -> SimpleRNN(40) -> Dense(2, softmax); book:
// ~89%
//   model.add(Embedding(input_dim=12533, output_dim=32, input_length=26))
//   model.add(SimpleRNN(40))
//   model.add(Dense(2, activation='softmax'))
//   model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
//   model.fit(X_train, y_train2, validation_data=(X_test, y_test2), epochs=10, batch_size=32)
#include "experiments/airline_experiment.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"

using namespace layers;

int main(int argc, char** argv) {
  return experiments::RunAirline(
      "airline_rnn", 10,
      [](Sequential& model, size_t vocabulary, size_t length) {
        model.Add(Embedding(vocabulary, 32, length));
        model.Add(SimpleRNN(40));
        model.Add(Dense(2, "softmax"));
      },
      argc, argv);
}
