// Everything of //autograd in one include.
#ifndef AUTOGRAD_AUTOGRAD_H_
#define AUTOGRAD_AUTOGRAD_H_

#include "autograd/convolution.h"
#include "autograd/elementwise.h"
#include "autograd/indexing.h"
#include "autograd/losses.h"
#include "autograd/matmul.h"
#include "autograd/optimizers.h"
#include "autograd/random.h"
#include "autograd/recurrent.h"
#include "autograd/reductions.h"
#include "autograd/shape_ops.h"
#include "autograd/tensor.h"

#endif  // AUTOGRAD_AUTOGRAD_H_
