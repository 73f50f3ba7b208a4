// Keras' merging layers, by hand: values, masks, gradients and the errors.
#include "layers/merging.h"

#include <gtest/gtest.h>

#include "autograd/reductions.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/functional.h"
#include "layers/model.h"

namespace layers {
namespace {

Array Values(std::initializer_list<Real> values, Shape shape) {
  Array out = Array::from_shape(shape);
  std::copy(values.begin(), values.end(), out.begin());
  return out;
}

// Runs `layer` on x1 and x2 through a Model (two inputs of shape (2,)), by Predict.
Array Merged(const LayerPtr& layer, const Array& x1, const Array& x2) {
  KerasTensor a = Input({2}), b = Input({2});
  Model model({a, b}, {layer({a, b})});
  EXPECT_TRUE(model.status().ok()) << model.status();
  absl::StatusOr<std::vector<Array>> out = model.Predict({x1, x2});
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? (*out)[0] : Array();
}

TEST(Merging, ValuesByHand) {
  const Array x1 = Values({1, 2, 3, 4}, {2, 2}), x2 = Values({10, 20, -1, 0.5}, {2, 2});
  EXPECT_EQ(Merged(Add(), x1, x2), Values({11, 22, 2, 4.5}, {2, 2}));
  EXPECT_EQ(Merged(Subtract(), x1, x2), Values({-9, -18, 4, 3.5}, {2, 2}));
  EXPECT_EQ(Merged(Multiply(), x1, x2), Values({10, 40, -3, 2}, {2, 2}));
  EXPECT_EQ(Merged(Average(), x1, x2), Values({5.5, 11, 1, 2.25}, {2, 2}));
  EXPECT_EQ(Merged(Concatenate(), x1, x2), Values({1, 2, 10, 20, 3, 4, -1, 0.5}, {2, 4}));
}

TEST(Merging, ConcatenateAlongTime) {
  KerasTensor a = Input({2, 3}), b = Input({kVaries, 3});
  KerasTensor joined = Concatenate(1)({a, b});
  ASSERT_TRUE(joined.status().ok()) << joined.status();
  EXPECT_EQ(joined.shape(), (Shape{kVaries, 3}));  // 2 + None steps
  KerasTensor c = Input({4, 3});
  EXPECT_EQ(Concatenate(1)({a, c}).shape(), (Shape{6, 3}));
  Model model({a, c}, {Concatenate(1)({a, c})});
  const Array x1 = Values({1, 2, 3, 4, 5, 6}, {1, 2, 3});
  Array x2 = Array::from_shape({1, 4, 3});
  for (size_t k = 0; k < x2.size(); ++k) x2.data()[k] = static_cast<Real>(100 + k);
  absl::StatusOr<std::vector<Array>> out = model.Predict({x1, x2});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ((*out)[0].shape(), (std::vector<size_t>{1, 6, 3}));
  EXPECT_EQ((*out)[0](0, 1, 2), 6);
  EXPECT_EQ((*out)[0](0, 2, 0), 100);
  EXPECT_EQ((*out)[0](0, 5, 2), 111);
}

// d(sum(a * b))/da = b and /db = a; d(sum(a - b)) = +1 and -1; Average halves.
TEST(Merging, GradientsByHand) {
  const Array va = Values({1, -2, 3, 0.5}, {2, 2}), vb = Values({4, 5, -6, 2}, {2, 2});
  for (const char* kind : {"Multiply", "Subtract", "Average", "Concatenate"}) {
    autograd::CurrentTape().Clear();
    Tensor a(va, /*requires_grad=*/true), b(vb, /*requires_grad=*/true);
    LayerPtr layer = std::string(kind) == "Multiply"   ? Multiply()
                     : std::string(kind) == "Subtract" ? Subtract()
                     : std::string(kind) == "Average"  ? Average()
                                                       : Concatenate();
    Rng rng(0);
    ASSERT_TRUE(layer->BuildCall({{2}, {2}}, rng).ok());
    std::vector<std::optional<Array>> masks;
    Tensor out = layer->CallNode({a, b}, {nullptr, nullptr}, CallContext{true}, masks)[0];
    ASSERT_TRUE(autograd::CurrentTape().Backward(autograd::Sum(out)).ok());
    for (size_t k = 0; k < 4; ++k) {
      const std::string what = std::string(kind) + " element " + std::to_string(k);
      if (std::string(kind) == "Multiply") {
        EXPECT_EQ(a.grad().data()[k], vb.data()[k]) << what;
        EXPECT_EQ(b.grad().data()[k], va.data()[k]) << what;
      } else if (std::string(kind) == "Subtract") {
        EXPECT_EQ(a.grad().data()[k], 1) << what;
        EXPECT_EQ(b.grad().data()[k], -1) << what;
      } else if (std::string(kind) == "Average") {
        EXPECT_EQ(a.grad().data()[k], 0.5) << what;
        EXPECT_EQ(b.grad().data()[k], 0.5) << what;
      } else {
        EXPECT_EQ(a.grad().data()[k], 1) << what;
        EXPECT_EQ(b.grad().data()[k], 1) << what;
      }
    }
  }
}

// The output is masked where any input is (the AND of the masks), as Keras' merges.
TEST(Merging, MasksCombineByAnd) {
  LayerPtr add = Add();
  Rng rng(0);
  ASSERT_TRUE(add->BuildCall({{3, 1}, {3, 1}}, rng).ok());
  const Array m1 = Values({1, 1, 0, 0, 1, 1}, {2, 3}), m2 = Values({0, 1, 1, 1, 1, 0}, {2, 3});
  const Tensor x(xt::zeros<Real>({2, 3, 1}));
  std::vector<std::optional<Array>> masks;
  add->CallNode({x, x}, {&m1, &m2}, CallContext{}, masks);
  ASSERT_TRUE(masks[0].has_value());
  EXPECT_EQ(*masks[0], Values({0, 1, 0, 0, 1, 0}, {2, 3}));
  add->CallNode({x, x}, {nullptr, &m2}, CallContext{}, masks);
  EXPECT_EQ(*masks[0], m2);
  add->CallNode({x, x}, {nullptr, nullptr}, CallContext{}, masks);
  EXPECT_FALSE(masks[0].has_value());
  // In a graph: one masked input makes a masked output.
  KerasTensor words = Input({3}), numbers = Input({3, 4});
  KerasTensor embedded = Embedding(9, 4, 3, /*mask_zero=*/true)(words);
  EXPECT_TRUE(Add()({embedded, numbers}).masked());
}

TEST(Merging, ErrorsNameTheShapes) {
  KerasTensor a = Input({2}), b = Input({3}), c = Input({2});
  LayerPtr add = Add();
  add->set_name("add_it");
  EXPECT_EQ(std::string(KerasTensor(add({a, b})).status().message()),
            "layer 'add_it' (Add) on inputs [(None, 2), (None, 3)]: inputs must have the same "
            "shape, got [(None, 2), (None, 3)]");
  LayerPtr subtract = Subtract();
  subtract->set_name("minus");
  EXPECT_EQ(std::string(KerasTensor(subtract({a, c, a})).status().message()),
            "layer 'minus' (Subtract) on inputs [(None, 2), (None, 2), (None, 2)]: it is called "
            "on a list of exactly 2 tensors, got 3");
  KerasTensor t = Input({4, 2}), u = Input({5, 3});
  LayerPtr join = Concatenate();
  join->set_name("join");
  EXPECT_EQ(std::string(KerasTensor(join({t, u})).status().message()),
            "layer 'join' (Concatenate) on inputs [(None, 4, 2), (None, 5, 3)]: a Concatenate "
            "layer requires inputs with matching shapes except for the concatenation axis -1, "
            "got inputs [(None, 4, 2), (None, 5, 3)]");
  LayerPtr one = Add();
  one->set_name("alone");
  EXPECT_EQ(std::string(KerasTensor(one(a)).status().message()),
            "layer 'alone' (Add) on input (None, 2): it is called on a list of at least 2 "
            "tensors, got 1");
}

}  // namespace
}  // namespace layers
