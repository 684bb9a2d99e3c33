// SPDX-License-Identifier: BSD-3-Clause
// The Kokkos kernels of the MoE layer (forward and backward). Free functions so that the
// KOKKOS_LAMBDAs they launch are legal CUDA extended lambdas; every one takes the execution
// space instance first and enqueues on it.
#pragma once

#include <cstdint>

#include "core/kokkos_types.hpp"
#include "moe/layer_config.hpp"

namespace micromoe::moe::detail {

using Matrix = Kokkos::View<float**, TokenLayout, MemSpace>;
using ConstMatrix = Kokkos::View<const float**, TokenLayout, MemSpace>;
using IntMatrix = Kokkos::View<int**, TokenLayout, MemSpace>;
using I64 = Kokkos::View<std::int64_t*, MemSpace>;
using Blocks = Kokkos::View<std::int64_t* [3], TokenLayout, MemSpace>;  ///< (source row, destination row, rows)
using Flat = Kokkos::View<float*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

using ConstIntMatrix = Kokkos::View<const int**, TokenLayout, MemSpace>;

/// From logits [T, E]: probs = softmax (saved), the k chosen experts idx [T, k] (largest logit
/// first, ties to the lower id; or, when `forced`, experts (t*k + i + offset) mod E; or, when
/// `given` has T rows, given's experts: a replayed routing trace) and their gate weights
/// gw [T, k] (renormalised over the k when asked).
void gate_select(const ExecSpace& exec, const Matrix& logits, const Matrix& probs, const IntMatrix& idx,
                 const Matrix& gw, bool renormalize, bool forced, std::int64_t forced_offset,
                 const ConstIntMatrix& given = {});

/// Stable counting sort of copies c = t*k + i by expert idx(t, i): pos[c] = position in
/// expert-major order (copy order inside an expert), start[e] = first position of expert e,
/// counts[e] = copies of e. Deterministic (no atomics). `scratch` is grown as needed.
void bucket_positions(const ExecSpace& exec, const IntMatrix& idx, int experts, const I64& pos, const I64& start,
                      const I64& counts, I64& scratch);

/// Send row of every copy (or -1 when dropped): rank r = pos - start[e]; copies r >= kept[e]
/// are dropped; else the leg l of e with cum[l] <= r < cum[l] + cnt[l] gives off[l] + r - cum[l].
/// Leg table: legs of e are [leg_first[e], leg_first[e+1]), each (cum, cnt, off) in `legs`.
void assign_send_rows(const ExecSpace& exec, const IntMatrix& idx, const I64& pos, const I64& start, const I64& kept,
                      const I64& leg_first, const Blocks& legs, const I64& copy_row);

/// send[copy_row[c]] = x[c / k] for every kept copy.
void gather_rows(const ExecSpace& exec, const ConstMatrix& x, int k, const I64& copy_row, const Matrix& send);

/// Rows per block of block_copy at most: longer runs are split so one team copies each piece.
constexpr std::int64_t kBlockRows = 16;

/// For every block b: rows [src, src+n) of `from` -> rows [dst, dst+n) of `to`
/// (reverse: [dst, dst+n) of `from` -> [src, src+n) of `to`).
void block_copy(const ExecSpace& exec, const Matrix& from, const Matrix& to, const Blocks& blocks, int nblocks,
                bool reverse);

/// a = act(h) over rows [0, rows): h [R, F1], a [R, F] (swiglu: a = silu(h[:, :F]) * h[:, F:]).
void activation_forward(const ExecSpace& exec, Activation act, const Matrix& h, const Matrix& a, std::int64_t rows,
                        int ffn);
/// The bf16 path's forward: a [R][F] bf16 = bf16(act(h)); no fp32 activation is written.
void activation_forward_bf16(const ExecSpace& exec, Activation act, const Matrix& h, std::uint16_t* a,
                             std::int64_t rows, int ffn);
/// The bf16 path's backward: dh [R][F1] bf16 = dL/dh given da [R, F]; h is left unchanged.
void activation_backward_bf16(const ExecSpace& exec, Activation act, const Matrix& h, const Matrix& da,
                              std::uint16_t* dh, std::int64_t rows, int ffn);
/// In place: h <- dL/dh given da [R, F] (h [R, F1] holds the pre-activation on entry).
void activation_backward(const ExecSpace& exec, Activation act, const Matrix& h, const Matrix& da, std::int64_t rows,
                         int ffn);

/// y[t] = sum over i (in order) of gw(t, i) * back[copy_row[t*k+i]], dropped copies skipped.
void combine_rows(const ExecSpace& exec, const Matrix& back, const I64& copy_row, const Matrix& gw, const Matrix& y);

/// dsend[copy_row] = gw(t, i) * dy[t];  dgw(t, i) = dy[t] . back[copy_row] (0 when dropped).
void scatter_output_grad(const ExecSpace& exec, const ConstMatrix& dy, const Matrix& back, const I64& copy_row,
                         const Matrix& gw, const Matrix& dsend, const Matrix& dgw);

/// dlogits [T, E] from dgw through the renormalisation and the softmax (top-k is constant).
void gate_backward(const ExecSpace& exec, const Matrix& probs, const IntMatrix& idx, const Matrix& dgw,
                   bool renormalize, const Matrix& dlogits);

/// dx[t] += sum over i of dback[copy_row[t*k+i]].
void add_copy_grads(const ExecSpace& exec, const Matrix& dback, const I64& copy_row, int k, const Matrix& dx);

/// w[i] = scale * u(seed, stream, i) with u uniform in [-1, 1), the same bits on every backend.
void init_uniform(const ExecSpace& exec, const Flat& w, std::uint64_t seed, std::uint64_t stream, float scale);

}  // namespace micromoe::moe::detail
