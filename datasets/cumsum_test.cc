#include "datasets/cumsum.h"

#include <gtest/gtest.h>

namespace datasets {
namespace {

TEST(GetSequence, ShapesValuesAndLabelsFollowTheCumulativeSum) {
  autograd::Rng rng(1);
  for (int trial = 0; trial < 50; ++trial) {
    const Sequence s = GetSequence(10, rng);
    ASSERT_EQ(autograd::ShapeOf(s.x), (autograd::Shape{1, 10, 1}));
    ASSERT_EQ(autograd::ShapeOf(s.y), (autograd::Shape{1, 10, 1}));
    double total = 0;
    for (size_t t = 0; t < 10; ++t) {
      EXPECT_GE(s.x(0, t, 0), 0.0f);
      EXPECT_LT(s.x(0, t, 0), 1.0f);
      total += s.x(0, t, 0);
      EXPECT_EQ(s.y(0, t, 0), total < 2.5 ? 0.0f : 1.0f) << "trial " << trial << " step " << t;
      // Once the sum passes the limit the label stays 1.
      if (t > 0 && s.y(0, t - 1, 0) == 1) EXPECT_EQ(s.y(0, t, 0), 1.0f);
    }
  }
}

TEST(GetSequence, SameSeedSameSequence) {
  autograd::Rng a(7), b(7), c(8);
  const Sequence first = GetSequence(10, a), second = GetSequence(10, b),
                 other = GetSequence(10, c);
  EXPECT_EQ(first.x, second.x);
  EXPECT_NE(first.x, other.x);
}

}  // namespace
}  // namespace datasets
