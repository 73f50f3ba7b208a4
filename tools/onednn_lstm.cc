#include "tools/onednn_lstm.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "oneapi/dnnl/dnnl.hpp"

namespace tools {

using dnnl::memory;
using Args = std::unordered_map<int, memory>;

struct OneDnnLstm::Impl {
  int N, T, C, H;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::lstm_forward::primitive_desc training_pd, inference_pd;
  dnnl::lstm_backward::primitive_desc backward_pd;
  // User-layout memories.
  memory x, kernel, recurrent, bias, zero_h, zero_c, y, h_last, c_last, dy, zero_dh, zero_dc;
  memory dx, dh0, dc0, d_kernel_user, d_recurrent_user, d_bias;
  // Primitive-layout weights and their gradients.
  memory kernel_fwd, recurrent_fwd, kernel_inf, recurrent_inf, kernel_bwd, recurrent_bwd;
  memory d_kernel, d_recurrent, workspace;

  static memory::desc Desc(const memory::dims& dims, memory::format_tag tag) {
    return memory::desc(dims, memory::data_type::f32, tag);
  }
  memory Make(const memory::desc& desc) {
    memory m(desc, engine);
    std::memset(m.get_data_handle(), 0, desc.get_size());
    return m;
  }
  Args LayerArgs(memory& kernel_layout, memory& recurrent_layout);
  void Reorder(memory& from, memory& to) {
    dnnl::reorder(from, to).execute(stream, from, to);
    stream.wait();
  }
};

OneDnnLstm::OneDnnLstm(int batch, int time, int input_dim, int units) : impl_(new Impl) {
  Impl& s = *impl_;
  using tag = memory::format_tag;
  s.N = batch, s.T = time, s.C = input_dim, s.H = units;
  const memory::dim N = batch, T = time, C = input_dim, H = units;
  const auto src_layer = Impl::Desc({T, N, C}, tag::tnc);
  const auto state = Impl::Desc({1, 1, N, H}, tag::ldnc);
  const auto kernel_any = Impl::Desc({1, 1, C, 4, H}, tag::any);
  const auto recurrent_any = Impl::Desc({1, 1, H, 4, H}, tag::any);
  const auto bias = Impl::Desc({1, 1, 4, H}, tag::ldgo);
  const auto dst_layer = Impl::Desc({T, N, H}, tag::tnc);
  const auto direction = dnnl::rnn_direction::unidirectional_left2right;
  const auto forward = [&](dnnl::prop_kind kind) {
    return dnnl::lstm_forward::primitive_desc(
        dnnl::lstm_forward::desc(kind, direction, src_layer, state, state, kernel_any,
                                 recurrent_any, bias, dst_layer, state, state),
        s.engine);
  };
  s.training_pd = forward(dnnl::prop_kind::forward_training);
  s.inference_pd = forward(dnnl::prop_kind::forward_inference);
  s.backward_pd = dnnl::lstm_backward::primitive_desc(
      dnnl::lstm_backward::desc(dnnl::prop_kind::backward, direction, src_layer, state, state,
                                kernel_any, recurrent_any, bias, dst_layer, state, state, src_layer,
                                state, state, kernel_any, recurrent_any, bias, dst_layer, state,
                                state),
      s.engine, s.training_pd);

  s.x = s.Make(src_layer);
  s.kernel = s.Make(Impl::Desc({1, 1, C, 4, H}, tag::ldigo));
  s.recurrent = s.Make(Impl::Desc({1, 1, H, 4, H}, tag::ldigo));
  s.bias = s.Make(bias);
  s.zero_h = s.Make(state), s.zero_c = s.Make(state), s.h_last = s.Make(state);
  s.c_last = s.Make(state), s.zero_dh = s.Make(state), s.zero_dc = s.Make(state);
  s.dh0 = s.Make(state), s.dc0 = s.Make(state);
  s.y = s.Make(dst_layer), s.dy = s.Make(dst_layer), s.dx = s.Make(src_layer);
  s.d_kernel_user = s.Make(s.kernel.get_desc());
  s.d_recurrent_user = s.Make(s.recurrent.get_desc());
  s.d_bias = s.Make(bias);
  s.kernel_fwd = s.Make(s.training_pd.weights_layer_desc());
  s.recurrent_fwd = s.Make(s.training_pd.weights_iter_desc());
  s.kernel_inf = s.Make(s.inference_pd.weights_layer_desc());
  s.recurrent_inf = s.Make(s.inference_pd.weights_iter_desc());
  s.kernel_bwd = s.Make(s.backward_pd.weights_layer_desc());
  s.recurrent_bwd = s.Make(s.backward_pd.weights_iter_desc());
  s.d_kernel = s.Make(s.backward_pd.diff_weights_layer_desc());
  s.d_recurrent = s.Make(s.backward_pd.diff_weights_iter_desc());
  s.workspace = s.Make(s.training_pd.workspace_desc());
}

OneDnnLstm::OneDnnLstm(OneDnnLstm&&) noexcept = default;
OneDnnLstm::~OneDnnLstm() = default;

void OneDnnLstm::SetWeights(const std::vector<float>& kernel,
                            const std::vector<float>& recurrent_kernel,
                            const std::vector<float>& bias) {
  Impl& s = *impl_;
  // ldigo with one layer and one direction is Keras' [input, 4 units] exactly; ldgo is [4 units].
  std::copy(kernel.begin(), kernel.end(), static_cast<float*>(s.kernel.get_data_handle()));
  std::copy(recurrent_kernel.begin(), recurrent_kernel.end(),
            static_cast<float*>(s.recurrent.get_data_handle()));
  std::copy(bias.begin(), bias.end(), static_cast<float*>(s.bias.get_data_handle()));
  s.Reorder(s.kernel, s.kernel_fwd);
  s.Reorder(s.recurrent, s.recurrent_fwd);
  s.Reorder(s.kernel, s.kernel_inf);
  s.Reorder(s.recurrent, s.recurrent_inf);
  s.Reorder(s.kernel, s.kernel_bwd);
  s.Reorder(s.recurrent, s.recurrent_bwd);
}

namespace {
// [batch, time, features] <-> oneDNN's tnc [time, batch, features].
void ToTnc(const std::vector<float>& ntc, int N, int T, int F, float* tnc) {
  for (int n = 0; n < N; ++n) {
    for (int t = 0; t < T; ++t) {
      std::copy_n(ntc.data() + (size_t(n) * T + t) * F, F, tnc + (size_t(t) * N + n) * F);
    }
  }
}
std::vector<float> FromTnc(const float* tnc, int N, int T, int F) {
  std::vector<float> ntc(size_t(N) * T * F);
  for (int n = 0; n < N; ++n) {
    for (int t = 0; t < T; ++t) {
      std::copy_n(tnc + (size_t(t) * N + n) * F, F, ntc.data() + (size_t(n) * T + t) * F);
    }
  }
  return ntc;
}
std::vector<float> Values(const memory& m) {
  const float* data = static_cast<const float*>(m.get_data_handle());
  return std::vector<float>(data, data + m.get_desc().get_size() / sizeof(float));
}
}  // namespace

void OneDnnLstm::SetInput(const std::vector<float>& x) {
  ToTnc(x, impl_->N, impl_->T, impl_->C, static_cast<float*>(impl_->x.get_data_handle()));
}

void OneDnnLstm::SetOutputGradient(const std::vector<float>& dy) {
  ToTnc(dy, impl_->N, impl_->T, impl_->H, static_cast<float*>(impl_->dy.get_data_handle()));
}

// The arguments every LSTM primitive reads: input, zero initial states, weights in the
// primitive's layout, bias, and the output and final states it writes (and backward reads).
Args OneDnnLstm::Impl::LayerArgs(memory& kernel_layout, memory& recurrent_layout) {
  return Args{{DNNL_ARG_SRC_LAYER, x},
              {DNNL_ARG_SRC_ITER, zero_h},
              {DNNL_ARG_SRC_ITER_C, zero_c},
              {DNNL_ARG_WEIGHTS_LAYER, kernel_layout},
              {DNNL_ARG_WEIGHTS_ITER, recurrent_layout},
              {DNNL_ARG_BIAS, bias},
              {DNNL_ARG_DST_LAYER, y},
              {DNNL_ARG_DST_ITER, h_last},
              {DNNL_ARG_DST_ITER_C, c_last}};
}

void OneDnnLstm::ForwardTraining() {
  Impl& s = *impl_;
  Args args = s.LayerArgs(s.kernel_fwd, s.recurrent_fwd);
  args.insert({DNNL_ARG_WORKSPACE, s.workspace});
  dnnl::lstm_forward(s.training_pd).execute(s.stream, args);
  s.stream.wait();
}

void OneDnnLstm::Backward() {
  Impl& s = *impl_;
  // oneDNN accumulates into the weight gradients: clear them first, as a training step would.
  for (memory* m : {&s.d_kernel, &s.d_recurrent, &s.d_bias}) {
    std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
  }
  Args args = s.LayerArgs(s.kernel_bwd, s.recurrent_bwd);
  args.insert({{DNNL_ARG_DIFF_SRC_LAYER, s.dx},
               {DNNL_ARG_DIFF_SRC_ITER, s.dh0},
               {DNNL_ARG_DIFF_SRC_ITER_C, s.dc0},
               {DNNL_ARG_DIFF_WEIGHTS_LAYER, s.d_kernel},
               {DNNL_ARG_DIFF_WEIGHTS_ITER, s.d_recurrent},
               {DNNL_ARG_DIFF_BIAS, s.d_bias},
               {DNNL_ARG_DIFF_DST_LAYER, s.dy},
               {DNNL_ARG_DIFF_DST_ITER, s.zero_dh},
               {DNNL_ARG_DIFF_DST_ITER_C, s.zero_dc},
               {DNNL_ARG_WORKSPACE, s.workspace}});
  dnnl::lstm_backward(s.backward_pd).execute(s.stream, args);
  s.stream.wait();
}

void OneDnnLstm::ForwardInference() {
  Impl& s = *impl_;
  dnnl::lstm_forward(s.inference_pd).execute(s.stream, s.LayerArgs(s.kernel_inf, s.recurrent_inf));
  s.stream.wait();
}

std::vector<float> OneDnnLstm::Output() const {
  return FromTnc(static_cast<const float*>(impl_->y.get_data_handle()), impl_->N, impl_->T,
                 impl_->H);
}

std::vector<float> OneDnnLstm::InputGradient() const {
  return FromTnc(static_cast<const float*>(impl_->dx.get_data_handle()), impl_->N, impl_->T,
                 impl_->C);
}

std::vector<float> OneDnnLstm::KernelGradient() const {
  impl_->Reorder(impl_->d_kernel, impl_->d_kernel_user);
  return Values(impl_->d_kernel_user);
}

std::vector<float> OneDnnLstm::RecurrentKernelGradient() const {
  impl_->Reorder(impl_->d_recurrent, impl_->d_recurrent_user);
  return Values(impl_->d_recurrent_user);
}

std::vector<float> OneDnnLstm::BiasGradient() const { return Values(impl_->d_bias); }

}  // namespace tools
