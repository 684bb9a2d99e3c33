// SPDX-License-Identifier: BSD-3-Clause
#include "moe/kernels.hpp"

#include "moe/bf16.hpp"
#include "moe/vector_access.hpp"

#include <cstdint>
#include <initializer_list>

#include "core/kokkos_compat.hpp"

namespace micromoe::moe::detail {

namespace {
using Range = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;
// Row kernels: one team per token row, its threads over the H columns. Coalesced on GPUs, no
// 64-bit division per element, and the whole row's work stays in one team.
using RowTeams = Kokkos::TeamPolicy<ExecSpace>;
using RowMember = RowTeams::member_type;

// Rows move as 16-byte vectors when the width allows (H % 4 == 0, aligned data): one 128-bit
// load and store per thread step instead of four 32-bit ones, which copy bandwidth needs.
bool vectorizable(std::int64_t H, std::initializer_list<const void*> data) {
  if (H % 4 != 0) return false;
  for (const void* p : data)
    if (!aligned_to(p, alignof(Vec4))) return false;
  return true;
}
template <class M>
KOKKOS_INLINE_FUNCTION const Vec4* vec_row(const M& m, std::int64_t r) {
  return reinterpret_cast<const Vec4*>(&m(r, 0));
}
template <class M>
KOKKOS_INLINE_FUNCTION Vec4* vec_row_mut(const M& m, std::int64_t r) {
  return reinterpret_cast<Vec4*>(&m(r, 0));
}
constexpr std::int64_t chunk = 256;  // copies per chunk of the counting sort

KOKKOS_INLINE_FUNCTION float sigmoid(float x) { return 1.0f / (1.0f + compat::exp(-x)); }

/// act(x) (swiglu: silu(x) * b, b the second half's value; ignored otherwise).
KOKKOS_INLINE_FUNCTION float activation_value(Activation act, float x, float b) {
  if (act == Activation::gelu) return 0.5f * x * (1.0f + compat::erf(x * 0.70710678118654752f));
  if (act == Activation::silu) return x * sigmoid(x);
  return x * sigmoid(x) * b;
}

/// Gradients of activation_value given its output gradient g: dx, and db (swiglu only).
KOKKOS_INLINE_FUNCTION void activation_grads(Activation act, float x, float b, float g, float& dx, float& db) {
  db = 0.0f;
  if (act == Activation::gelu) {
    const float cdf = 0.5f * (1.0f + compat::erf(x * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * compat::exp(-0.5f * x * x);
    dx = g * (cdf + x * pdf);
    return;
  }
  const float s = sigmoid(x);
  const float dsilu = s * (1.0f + x * (1.0f - s));
  if (act == Activation::silu) {
    dx = g * dsilu;
  } else {
    db = g * x * s;
    dx = g * b * dsilu;
  }
}
}  // namespace

void gate_select(const ExecSpace& exec, const Matrix& logits, const Matrix& probs, const IntMatrix& idx,
                 const Matrix& gw, bool renormalize, bool forced, std::int64_t forced_offset,
                 const ConstIntMatrix& given) {
  const std::int64_t T = static_cast<std::int64_t>(logits.extent(0));
  const bool replay = T > 0 && static_cast<std::int64_t>(given.extent(0)) == T;
  const int E = static_cast<int>(logits.extent(1));
  const int k = static_cast<int>(idx.extent(1));
  Kokkos::parallel_for(
      "micromoe::moe::gate_select", Range(exec, 0, T), KOKKOS_LAMBDA(const std::int64_t t) {
        float m = logits(t, 0);
        for (int e = 1; e < E; ++e) m = logits(t, e) > m ? logits(t, e) : m;
        float sum = 0.0f;
        for (int e = 0; e < E; ++e) {
          const float p = compat::exp(logits(t, e) - m);
          probs(t, e) = p;
          sum += p;
        }
        for (int e = 0; e < E; ++e) probs(t, e) /= sum;
        for (int i = 0; i < k; ++i) {
          int best = -1;
          if (replay) {
            best = given(t, i);
          } else if (forced) {
            best = static_cast<int>((t * k + i + forced_offset) % E);
          } else {
            for (int e = 0; e < E; ++e) {
              bool taken = false;
              for (int j = 0; j < i; ++j) taken = taken || idx(t, j) == e;
              if (!taken && (best < 0 || logits(t, e) > logits(t, best))) best = e;
            }
          }
          idx(t, i) = best;
        }
        float z = 0.0f;
        for (int i = 0; i < k; ++i) z += probs(t, idx(t, i));
        for (int i = 0; i < k; ++i) gw(t, i) = renormalize ? probs(t, idx(t, i)) / z : probs(t, idx(t, i));
      });
}

void bucket_positions(const ExecSpace& exec, const IntMatrix& idx, int experts, const I64& pos, const I64& start,
                      const I64& counts, I64& scratch) {
  const std::int64_t k = static_cast<std::int64_t>(idx.extent(1));
  const std::int64_t N = static_cast<std::int64_t>(idx.extent(0)) * k;
  const std::int64_t chunks = (N + chunk - 1) / chunk;
  const std::int64_t E = experts;
  if (static_cast<std::int64_t>(scratch.extent(0)) < E * chunks + 1)
    scratch = I64(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::moe::sort_scratch"), E * chunks + 1);
  const I64 hist = scratch;
  // Histogram per chunk, expert-major: hist[e * chunks + c].
  Kokkos::parallel_for(
      "micromoe::moe::bucket_histogram", Range(exec, 0, chunks), KOKKOS_LAMBDA(const std::int64_t c) {
        for (std::int64_t e = 0; e < E; ++e) hist(e * chunks + c) = 0;
        const std::int64_t end = (c + 1) * chunk < N ? (c + 1) * chunk : N;
        for (std::int64_t n = c * chunk; n < end; ++n) hist(idx(n / k, n % k) * chunks + c) += 1;
      });
  // Exclusive scan: the first position of every (expert, chunk).
  Kokkos::parallel_scan(
      "micromoe::moe::bucket_scan", Range(exec, 0, E * chunks),
      KOKKOS_LAMBDA(const std::int64_t i, std::int64_t& acc, const bool final) {
        const std::int64_t v = hist(i);
        if (final) hist(i) = acc;
        acc += v;
      });
  Kokkos::parallel_for(
      "micromoe::moe::bucket_bounds", Range(exec, 0, E), KOKKOS_LAMBDA(const std::int64_t e) {
        const std::int64_t first = chunks > 0 ? hist(e * chunks) : 0;
        const std::int64_t last = chunks == 0 ? 0 : (e + 1 < E ? hist((e + 1) * chunks) : N);
        start(e) = first;
        counts(e) = last - first;
      });
  // Place: each chunk walks its copies in order, using its column of `hist` as cursors.
  Kokkos::parallel_for(
      "micromoe::moe::bucket_place", Range(exec, 0, chunks), KOKKOS_LAMBDA(const std::int64_t c) {
        const std::int64_t end = (c + 1) * chunk < N ? (c + 1) * chunk : N;
        for (std::int64_t n = c * chunk; n < end; ++n) {
          const std::int64_t slot = idx(n / k, n % k) * chunks + c;
          pos(n) = hist(slot);
          hist(slot) += 1;
        }
      });
}

void assign_send_rows(const ExecSpace& exec, const IntMatrix& idx, const I64& pos, const I64& start, const I64& kept,
                      const I64& leg_first, const Blocks& legs, const I64& copy_row) {
  const std::int64_t k = static_cast<std::int64_t>(idx.extent(1));
  const std::int64_t N = static_cast<std::int64_t>(idx.extent(0)) * k;
  Kokkos::parallel_for(
      "micromoe::moe::assign_send_rows", Range(exec, 0, N), KOKKOS_LAMBDA(const std::int64_t n) {
        const int e = idx(n / k, n % k);
        const std::int64_t r = pos(n) - start(e);
        std::int64_t row = -1;
        if (r < kept(e)) {
          for (std::int64_t l = leg_first(e); l < leg_first(e + 1); ++l)
            if (r >= legs(l, 0) && r < legs(l, 0) + legs(l, 1)) row = legs(l, 2) + r - legs(l, 0);
        }
        copy_row(n) = row;
      });
}

void gather_rows(const ExecSpace& exec, const ConstMatrix& x, int k, const I64& copy_row, const Matrix& send) {
  const std::int64_t H = static_cast<std::int64_t>(x.extent(1));
  const std::int64_t N = static_cast<std::int64_t>(x.extent(0)) * k;
  if (N == 0 || H == 0) return;
  const bool vec = vectorizable(H, {x.data(), send.data()});
  Kokkos::parallel_for(
      "micromoe::moe::gather_rows", RowTeams(exec, N, Kokkos::AUTO), KOKKOS_LAMBDA(const RowMember& team) {
        const std::int64_t n = team.league_rank();
        const std::int64_t row = copy_row(n);
        if (row < 0) return;
        if (vec) {
          const Vec4* from = vec_row(x, n / k);
          Vec4* to = vec_row_mut(send, row);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, H / 4), [&](const std::int64_t i) { to[i] = from[i]; });
        } else {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, H),
                               [&](const std::int64_t h) { send(row, h) = x(n / k, h); });
        }
      });
}

void block_copy(const ExecSpace& exec, const Matrix& from, const Matrix& to, const Blocks& blocks, int nblocks,
                bool reverse) {
  const std::int64_t H = static_cast<std::int64_t>(from.extent(1));
  if (nblocks == 0 || H == 0) return;
  const bool vec = vectorizable(H, {from.data(), to.data()});
  // Blocks are short (the layer splits them into pieces of at most kBlockRows rows), so one
  // team per block keeps every multiprocessor busy.
  Kokkos::parallel_for(
      "micromoe::moe::block_copy", RowTeams(exec, nblocks, Kokkos::AUTO), KOKKOS_LAMBDA(const RowMember& team) {
        const int b = team.league_rank();
        const std::int64_t src = reverse ? blocks(b, 1) : blocks(b, 0);
        const std::int64_t dst = reverse ? blocks(b, 0) : blocks(b, 1);
        const std::int64_t n = blocks(b, 2);
        if (vec) {
          // The block's rows are contiguous on both sides: one flat vector copy.
          const Vec4* f = vec_row(from, src);
          Vec4* t = vec_row_mut(to, dst);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, n * (H / 4)), [&](const std::int64_t i) { t[i] = f[i]; });
        } else {
          for (std::int64_t r = 0; r < n; ++r)
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, H),
                                 [&](const std::int64_t h) { to(dst + r, h) = from(src + r, h); });
        }
      });
}

void activation_forward(const ExecSpace& exec, Activation act, const Matrix& h, const Matrix& a, std::int64_t rows,
                        int ffn) {
  const std::int64_t F = ffn;
  if (rows == 0 || F == 0) return;
  // One team per row (no per-element division by F).
  Kokkos::parallel_for(
      "micromoe::moe::activation_forward", RowTeams(exec, rows, Kokkos::AUTO), KOKKOS_LAMBDA(const RowMember& team) {
        const std::int64_t r = team.league_rank();
        const bool gated = act == Activation::swiglu;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, F), [&](const std::int64_t f) {
          a(r, f) = activation_value(act, h(r, f), gated ? h(r, F + f) : 0.0f);
        });
      });
}

void activation_forward_bf16(const ExecSpace& exec, Activation act, const Matrix& h, Bf16* a, std::int64_t rows,
                             int ffn) {
  const std::int64_t F = ffn;
  if (rows == 0 || F == 0) return;
  const bool gated = act == Activation::swiglu;
  // Four columns per thread (16-byte loads, one 8-byte store) when the rows allow it.
  const bool vec = vectorizable(F, {h.data(), a}) && h.extent(1) % 4 == 0;
  Kokkos::parallel_for(
      "micromoe::moe::activation_forward_bf16", RowTeams(exec, rows, Kokkos::AUTO),
      KOKKOS_LAMBDA(const RowMember& team) {
        const std::int64_t r = team.league_rank();
        if (vec) {
          const Vec4* hr = vec_row(h, r);
          Bf16x4* ar = reinterpret_cast<Bf16x4*>(a + r * F);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, F / 4), [&](const std::int64_t q) {
            const Vec4 x = hr[q];
            const Vec4 b = gated ? hr[F / 4 + q] : Vec4{};
            Bf16x4 out;
            for (int c = 0; c < 4; ++c) out.v[c] = bf16_from_float(activation_value(act, x.v[c], b.v[c]));
            ar[q] = out;
          });
          return;
        }
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, F), [&](const std::int64_t f) {
          a[r * F + f] = bf16_from_float(activation_value(act, h(r, f), gated ? h(r, F + f) : 0.0f));
        });
      });
}

void activation_backward(const ExecSpace& exec, Activation act, const Matrix& h, const Matrix& da, std::int64_t rows,
                         int ffn) {
  const std::int64_t F = ffn;
  if (rows == 0 || F == 0) return;
  Kokkos::parallel_for(
      "micromoe::moe::activation_backward", RowTeams(exec, rows, Kokkos::AUTO), KOKKOS_LAMBDA(const RowMember& team) {
        const std::int64_t r = team.league_rank();
        const bool gated = act == Activation::swiglu;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, F), [&](const std::int64_t f) {
          float dx = 0.0f, db = 0.0f;
          activation_grads(act, h(r, f), gated ? h(r, F + f) : 0.0f, da(r, f), dx, db);
          if (gated) h(r, F + f) = db;
          h(r, f) = dx;
        });
      });
}

void activation_backward_bf16(const ExecSpace& exec, Activation act, const Matrix& h, const Matrix& da, Bf16* dh,
                              std::int64_t rows, int ffn) {
  const std::int64_t F = ffn;
  if (rows == 0 || F == 0) return;
  const std::int64_t F1 = static_cast<std::int64_t>(h.extent(1));
  const bool gated = act == Activation::swiglu;
  // Four columns per thread (16-byte loads, 8-byte stores) when the rows allow it.
  const bool vec = vectorizable(F, {h.data(), da.data(), dh}) && F1 % 4 == 0 && da.extent(1) % 4 == 0;
  Kokkos::parallel_for(
      "micromoe::moe::activation_backward_bf16", RowTeams(exec, rows, Kokkos::AUTO),
      KOKKOS_LAMBDA(const RowMember& team) {
        const std::int64_t r = team.league_rank();
        if (vec) {
          const Vec4* hr = vec_row(h, r);
          const Vec4* gr = vec_row(da, r);
          Bf16x4* dr = reinterpret_cast<Bf16x4*>(dh + r * F1);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, F / 4), [&](const std::int64_t q) {
            const Vec4 x = hr[q], g = gr[q];
            const Vec4 b = gated ? hr[F / 4 + q] : Vec4{};
            Bf16x4 dx4, db4;
            for (int c = 0; c < 4; ++c) {
              float dx = 0.0f, db = 0.0f;
              activation_grads(act, x.v[c], b.v[c], g.v[c], dx, db);
              dx4.v[c] = bf16_from_float(dx);
              db4.v[c] = bf16_from_float(db);
            }
            dr[q] = dx4;
            if (gated) dr[F / 4 + q] = db4;
          });
          return;
        }
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, F), [&](const std::int64_t f) {
          float dx = 0.0f, db = 0.0f;
          activation_grads(act, h(r, f), gated ? h(r, F + f) : 0.0f, da(r, f), dx, db);
          if (gated) dh[r * F1 + F + f] = bf16_from_float(db);
          dh[r * F1 + f] = bf16_from_float(dx);
        });
      });
}

void combine_rows(const ExecSpace& exec, const Matrix& back, const I64& copy_row, const Matrix& gw, const Matrix& y) {
  const std::int64_t H = static_cast<std::int64_t>(y.extent(1));
  const std::int64_t T = static_cast<std::int64_t>(y.extent(0));
  const std::int64_t k = static_cast<std::int64_t>(gw.extent(1));
  if (T == 0 || H == 0) return;
  const bool vec = vectorizable(H, {back.data(), y.data()});
  Kokkos::parallel_for(
      "micromoe::moe::combine_rows", RowTeams(exec, T, Kokkos::AUTO), KOKKOS_LAMBDA(const RowMember& team) {
        const std::int64_t t = team.league_rank();
        if (vec) {
          Vec4* out = vec_row_mut(y, t);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, H / 4), [&](const std::int64_t i) {
            Vec4 acc = {{0.0f, 0.0f, 0.0f, 0.0f}};
            for (std::int64_t j = 0; j < k; ++j) {
              const std::int64_t row = copy_row(t * k + j);
              if (row < 0) continue;
              const float w = gw(t, j);
              const Vec4 b = vec_row(back, row)[i];
              for (int c = 0; c < 4; ++c) acc.v[c] += w * b.v[c];
            }
            out[i] = acc;
          });
        } else {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, H), [&](const std::int64_t h) {
            float acc = 0.0f;
            for (std::int64_t j = 0; j < k; ++j) {
              const std::int64_t row = copy_row(t * k + j);
              if (row >= 0) acc += gw(t, j) * back(row, h);
            }
            y(t, h) = acc;
          });
        }
      });
}

void scatter_output_grad(const ExecSpace& exec, const ConstMatrix& dy, const Matrix& back, const I64& copy_row,
                         const Matrix& gw, const Matrix& dsend, const Matrix& dgw) {
  const std::int64_t H = static_cast<std::int64_t>(dy.extent(1));
  const std::int64_t T = static_cast<std::int64_t>(dy.extent(0));
  const std::int64_t k = static_cast<std::int64_t>(gw.extent(1));
  if (T == 0) return;
  const bool vec = vectorizable(H, {dy.data(), back.data(), dsend.data()});
  // One team per copy: its output gradient row, and dgw as a team reduction over the row
  // (a fixed team size and order: the same bits every run).
  Kokkos::parallel_for(
      "micromoe::moe::scatter_output_grad", RowTeams(exec, T * k, Kokkos::AUTO), KOKKOS_LAMBDA(const RowMember& team) {
        const std::int64_t n = team.league_rank();
        const std::int64_t t = n / k, i = n % k;
        const std::int64_t row = copy_row(n);
        if (row < 0) {
          Kokkos::single(Kokkos::PerTeam(team), [&]() { dgw(t, i) = 0.0f; });
          return;
        }
        const float w = gw(t, i);
        float acc = 0.0f;
        if (vec) {
          const Vec4* g = vec_row(dy, t);
          const Vec4* o = vec_row(back, row);
          Vec4* d = vec_row_mut(dsend, row);
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, H / 4),
              [&](const std::int64_t q, float& sum) {
                const Vec4 gv = g[q], ov = o[q];
                Vec4 dv;
                for (int c = 0; c < 4; ++c) {
                  dv.v[c] = w * gv.v[c];
                  sum += gv.v[c] * ov.v[c];
                }
                d[q] = dv;
              },
              acc);
        } else {
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, H),
              [&](const std::int64_t h, float& sum) {
                dsend(row, h) = w * dy(t, h);
                sum += dy(t, h) * back(row, h);
              },
              acc);
        }
        Kokkos::single(Kokkos::PerTeam(team), [&]() { dgw(t, i) = acc; });
      });
}

void gate_backward(const ExecSpace& exec, const Matrix& probs, const IntMatrix& idx, const Matrix& dgw,
                   bool renormalize, const Matrix& dlogits) {
  const std::int64_t T = static_cast<std::int64_t>(probs.extent(0));
  const int E = static_cast<int>(probs.extent(1));
  const int k = static_cast<int>(idx.extent(1));
  Kokkos::parallel_for(
      "micromoe::moe::gate_backward", Range(exec, 0, T), KOKKOS_LAMBDA(const std::int64_t t) {
        // dp[e] for chosen e, held in dlogits(t, :) first.
        for (int e = 0; e < E; ++e) dlogits(t, e) = 0.0f;
        if (renormalize) {
          float z = 0.0f, dot = 0.0f;
          for (int i = 0; i < k; ++i) z += probs(t, idx(t, i));
          for (int i = 0; i < k; ++i) dot += dgw(t, i) * probs(t, idx(t, i));
          dot /= z;  // sum_i dgw_i * w_i
          for (int i = 0; i < k; ++i) dlogits(t, idx(t, i)) += (dgw(t, i) - dot) / z;
        } else {
          for (int i = 0; i < k; ++i) dlogits(t, idx(t, i)) += dgw(t, i);
        }
        // Softmax: dl_e = p_e (dp_e - sum_f p_f dp_f).
        float s = 0.0f;
        for (int e = 0; e < E; ++e) s += probs(t, e) * dlogits(t, e);
        for (int e = 0; e < E; ++e) dlogits(t, e) = probs(t, e) * (dlogits(t, e) - s);
      });
}

void add_copy_grads(const ExecSpace& exec, const Matrix& dback, const I64& copy_row, int k, const Matrix& dx) {
  const std::int64_t H = static_cast<std::int64_t>(dx.extent(1));
  const std::int64_t T = static_cast<std::int64_t>(dx.extent(0));
  if (T == 0 || H == 0) return;
  const bool vec = vectorizable(H, {dback.data(), dx.data()});
  Kokkos::parallel_for(
      "micromoe::moe::add_copy_grads", RowTeams(exec, T, Kokkos::AUTO), KOKKOS_LAMBDA(const RowMember& team) {
        const std::int64_t t = team.league_rank();
        if (vec) {
          Vec4* out = vec_row_mut(dx, t);
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, H / 4), [&](const std::int64_t i) {
            Vec4 acc = out[i];
            for (std::int64_t j = 0; j < k; ++j) {
              const std::int64_t row = copy_row(t * k + j);
              if (row < 0) continue;
              const Vec4 b = vec_row(dback, row)[i];
              for (int c = 0; c < 4; ++c) acc.v[c] += b.v[c];
            }
            out[i] = acc;
          });
        } else {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, H), [&](const std::int64_t h) {
            float acc = dx(t, h);
            for (std::int64_t j = 0; j < k; ++j) {
              const std::int64_t row = copy_row(t * k + j);
              if (row >= 0) acc += dback(row, h);
            }
            dx(t, h) = acc;
          });
        }
      });
}

void init_uniform(const ExecSpace& exec, const Flat& w, std::uint64_t seed, std::uint64_t stream, float scale) {
  const std::int64_t n = static_cast<std::int64_t>(w.extent(0));
  Kokkos::parallel_for(
      "micromoe::moe::init_uniform", Range(exec, 0, n), KOKKOS_LAMBDA(const std::int64_t i) {
        // SplitMix64 of (seed, stream, i).
        std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL + stream * 0xD1B54A32D192ED03ULL + static_cast<std::uint64_t>(i);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        const float u = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // [0, 1), 24 bits
        w(i) = scale * (2.0f * u - 1.0f);
      });
}

}  // namespace micromoe::moe::detail
