// SPDX-License-Identifier: BSD-3-Clause
#include "reference.hpp"

#include <cmath>

#include "core/error.hpp"

namespace micromoe::moe {

namespace {
double act_fwd(Activation a, double x) {
  if (a == Activation::gelu) return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  return x / (1.0 + std::exp(-x));  // silu (swiglu's gate half)
}
double act_grad(Activation a, double x) {
  if (a == Activation::gelu)
    return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
  const double s = 1.0 / (1.0 + std::exp(-x));
  return s * (1.0 + x * (1.0 - s));
}
}  // namespace

ReferenceMoE::ReferenceMoE(const LayerConfig& c)
    : cfg_(c), H_(c.hidden), F_(c.ffn), F1_(w1_columns(c.activation, c.ffn)), E_(c.experts), K_(c.top_k) {
  params.gate.assign(static_cast<std::size_t>(H_) * E_, 0.0f);
  params.w1.assign(static_cast<std::size_t>(E_) * H_ * F1_, 0.0f);
  params.w2.assign(static_cast<std::size_t>(E_) * F_ * H_, 0.0f);
  state1 = params;
  state2 = params;
  zero_gradients();
}

void ReferenceMoE::zero_gradients() {
  g_gate_.assign(params.gate.size(), 0.0);
  g_w1_.assign(params.w1.size(), 0.0);
  g_w2_.assign(params.w2.size(), 0.0);
}

std::vector<float> ReferenceMoE::forward(const std::vector<float>& x, std::int64_t N, const std::vector<char>* keep,
                                         const std::vector<int>* forced) {
  MICROMOE_REQUIRE(static_cast<std::int64_t>(x.size()) == N * H_, "reference: x has the wrong size");
  N_ = N;
  x_ = x;
  probs_.assign(static_cast<std::size_t>(N) * E_, 0.0);
  idx_.assign(static_cast<std::size_t>(N) * K_, 0);
  gw_.assign(static_cast<std::size_t>(N) * K_, 0.0);
  keep_.assign(static_cast<std::size_t>(N) * K_, 1);
  if (keep) keep_ = *keep;
  hpre_.assign(static_cast<std::size_t>(N) * K_ * F1_, 0.0);
  act_.assign(static_cast<std::size_t>(N) * K_ * F_, 0.0);
  out_.assign(static_cast<std::size_t>(N) * K_ * H_, 0.0);
  std::vector<float> y(static_cast<std::size_t>(N) * H_, 0.0f);
  std::vector<float> logits(static_cast<std::size_t>(E_));
  for (std::int64_t t = 0; t < N; ++t) {
    for (int e = 0; e < E_; ++e) {
      double s = 0.0;
      for (int h = 0; h < H_; ++h)
        s += static_cast<double>(x[t * H_ + h]) * params.gate[static_cast<std::size_t>(h) * E_ + e];
      logits[e] = static_cast<float>(s);
    }
    double m = logits[0];
    for (int e = 1; e < E_; ++e) m = std::max(m, static_cast<double>(logits[e]));
    double z = 0.0;
    for (int e = 0; e < E_; ++e) z += probs_[t * E_ + e] = std::exp(logits[e] - m);
    for (int e = 0; e < E_; ++e) probs_[t * E_ + e] /= z;
    for (int i = 0; i < K_; ++i) {
      int best = -1;
      if (forced) {
        best = (*forced)[t * K_ + i];
      } else {
        for (int e = 0; e < E_; ++e) {
          bool taken = false;
          for (int j = 0; j < i; ++j) taken = taken || idx_[t * K_ + j] == e;
          if (!taken && (best < 0 || logits[e] > logits[best])) best = e;
        }
      }
      idx_[t * K_ + i] = best;
    }
    double zk = 0.0;
    for (int i = 0; i < K_; ++i) zk += probs_[t * E_ + idx_[t * K_ + i]];
    for (int i = 0; i < K_; ++i) {
      const double p = probs_[t * E_ + idx_[t * K_ + i]];
      gw_[t * K_ + i] = cfg_.renormalize ? p / zk : p;
    }
    for (int i = 0; i < K_; ++i) {
      const std::size_t c = static_cast<std::size_t>(t) * K_ + i;
      if (!keep_[c]) continue;
      const int e = idx_[c];
      const float* w1 = params.w1.data() + static_cast<std::size_t>(e) * H_ * F1_;
      const float* w2 = params.w2.data() + static_cast<std::size_t>(e) * F_ * H_;
      double* hp = hpre_.data() + c * F1_;
      double* a = act_.data() + c * F_;
      double* o = out_.data() + c * H_;
      for (int f = 0; f < F1_; ++f) {
        double s = 0.0;
        for (int h = 0; h < H_; ++h)
          s += static_cast<double>(x[t * H_ + h]) * w1[static_cast<std::size_t>(h) * F1_ + f];
        hp[f] = s;
      }
      for (int f = 0; f < F_; ++f)
        a[f] = cfg_.activation == Activation::swiglu ? act_fwd(Activation::silu, hp[f]) * hp[F_ + f]
                                                     : act_fwd(cfg_.activation, hp[f]);
      for (int h = 0; h < H_; ++h) {
        double s = 0.0;
        for (int f = 0; f < F_; ++f) s += a[f] * w2[static_cast<std::size_t>(f) * H_ + h];
        o[h] = s;
      }
    }
    for (int h = 0; h < H_; ++h) {
      double s = 0.0;
      for (int i = 0; i < K_; ++i) {
        const std::size_t c = static_cast<std::size_t>(t) * K_ + i;
        if (keep_[c]) s += gw_[c] * out_[c * H_ + h];
      }
      y[t * H_ + h] = static_cast<float>(s);
    }
  }
  return y;
}

std::vector<float> ReferenceMoE::backward(const std::vector<float>& dy) {
  MICROMOE_REQUIRE(static_cast<std::int64_t>(dy.size()) == N_ * H_, "reference: dy has the wrong size");
  std::vector<float> dx(dy.size(), 0.0f);
  std::vector<double> dxt(static_cast<std::size_t>(H_)), dout(static_cast<std::size_t>(H_)),
      da(static_cast<std::size_t>(F_)), dh(static_cast<std::size_t>(F1_)), dgw(static_cast<std::size_t>(K_)),
      dl(static_cast<std::size_t>(E_));
  for (std::int64_t t = 0; t < N_; ++t) {
    std::fill(dxt.begin(), dxt.end(), 0.0);
    for (int i = 0; i < K_; ++i) {
      const std::size_t c = static_cast<std::size_t>(t) * K_ + i;
      dgw[i] = 0.0;
      if (!keep_[c]) continue;
      const int e = idx_[c];
      const float* w1 = params.w1.data() + static_cast<std::size_t>(e) * H_ * F1_;
      const float* w2 = params.w2.data() + static_cast<std::size_t>(e) * F_ * H_;
      double* g1 = g_w1_.data() + static_cast<std::size_t>(e) * H_ * F1_;
      double* g2 = g_w2_.data() + static_cast<std::size_t>(e) * F_ * H_;
      const double* hp = hpre_.data() + c * F1_;
      const double* a = act_.data() + c * F_;
      const double* o = out_.data() + c * H_;
      for (int h = 0; h < H_; ++h) {
        dgw[i] += static_cast<double>(dy[t * H_ + h]) * o[h];
        dout[h] = gw_[c] * dy[t * H_ + h];
      }
      for (int f = 0; f < F_; ++f) {
        double s = 0.0;
        for (int h = 0; h < H_; ++h) {
          g2[static_cast<std::size_t>(f) * H_ + h] += a[f] * dout[h];
          s += dout[h] * w2[static_cast<std::size_t>(f) * H_ + h];
        }
        da[f] = s;
      }
      for (int f = 0; f < F_; ++f) {
        if (cfg_.activation == Activation::swiglu) {
          dh[f] = da[f] * hp[F_ + f] * act_grad(Activation::silu, hp[f]);
          dh[F_ + f] = da[f] * act_fwd(Activation::silu, hp[f]);
        } else {
          dh[f] = da[f] * act_grad(cfg_.activation, hp[f]);
        }
      }
      for (int h = 0; h < H_; ++h) {
        double s = 0.0;
        for (int f = 0; f < F1_; ++f) {
          g1[static_cast<std::size_t>(h) * F1_ + f] += static_cast<double>(x_[t * H_ + h]) * dh[f];
          s += dh[f] * w1[static_cast<std::size_t>(h) * F1_ + f];
        }
        dxt[h] += s;
      }
    }
    // Gate: renormalisation and softmax.
    std::fill(dl.begin(), dl.end(), 0.0);
    if (cfg_.renormalize) {
      double z = 0.0, dot = 0.0;
      for (int i = 0; i < K_; ++i) z += probs_[t * E_ + idx_[t * K_ + i]];
      for (int i = 0; i < K_; ++i) dot += dgw[i] * gw_[t * K_ + i];
      for (int i = 0; i < K_; ++i) dl[idx_[t * K_ + i]] += (dgw[i] - dot) / z;
    } else {
      for (int i = 0; i < K_; ++i) dl[idx_[t * K_ + i]] += dgw[i];
    }
    double s = 0.0;
    for (int e = 0; e < E_; ++e) s += probs_[t * E_ + e] * dl[e];
    for (int e = 0; e < E_; ++e) dl[e] = probs_[t * E_ + e] * (dl[e] - s);
    for (int h = 0; h < H_; ++h) {
      double acc = dxt[h];
      for (int e = 0; e < E_; ++e) {
        acc += dl[e] * params.gate[static_cast<std::size_t>(h) * E_ + e];
        g_gate_[static_cast<std::size_t>(h) * E_ + e] += static_cast<double>(x_[t * H_ + h]) * dl[e];
      }
      dx[t * H_ + h] = static_cast<float>(acc);
    }
  }
  return dx;
}

HostTensors ReferenceMoE::gradients() const {
  HostTensors g;
  g.gate.assign(g_gate_.begin(), g_gate_.end());
  g.w1.assign(g_w1_.begin(), g_w1_.end());
  g.w2.assign(g_w2_.begin(), g_w2_.end());
  return g;
}

void ReferenceMoE::step() {
  ++steps_;
  const auto& o = cfg_.optimizer;
  const float c1 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta1), static_cast<double>(steps_)));
  const float c2 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta2), static_cast<double>(steps_)));
  auto update = [&](std::vector<float>& w, const std::vector<double>& gd, std::vector<float>& s1,
                    std::vector<float>& s2) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      const float g = static_cast<float>(gd[i]);
      if (o.kind == OptimizerKind::sgd) {
        s1[i] = o.momentum * s1[i] + g;
        w[i] -= o.lr * s1[i];
      } else {
        s1[i] = o.beta1 * s1[i] + (1.0f - o.beta1) * g;
        s2[i] = o.beta2 * s2[i] + (1.0f - o.beta2) * g * g;
        w[i] -= o.lr * (s1[i] / c1) / (std::sqrt(s2[i] / c2) + o.eps);
      }
    }
  };
  update(params.gate, g_gate_, state1.gate, state2.gate);
  update(params.w1, g_w1_, state1.w1, state2.w1);
  update(params.w2, g_w2_, state1.w2, state2.w2);
  zero_gradients();
}

}  // namespace micromoe::moe
