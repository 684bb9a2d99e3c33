// SPDX-License-Identifier: BSD-3-Clause
// The configuration of one distributed MoE layer: sizes, activation, gate options, strategy,
// exchange backend and optimizer. Plain data; MoELayer checks it (InputError on every rank).
// The layer's choices are declared here with their name tables (core/enum_names.hpp), the names
// decks and reports use.
#pragma once

#include <cstddef>
#include <cstdint>

#include "comm/backend.hpp"
#include "core/enum_names.hpp"
#include "moe/migration_rounds.hpp"
#include "strategy/strategy.hpp"

namespace micromoe::moe {

/// Expert FFN activation. swiglu: W1 has 2F columns [a | b], the FFN computes silu(a) * b.
enum class Activation { gelu, silu, swiglu };
constexpr NameTable<3> name_table(Activation) { return {"activation", {"gelu", "silu", "swiglu"}}; }

/// Columns of an expert's W1 (and of its pre-activation): 2F for swiglu, else F.
constexpr int w1_columns(Activation a, int ffn) { return a == Activation::swiglu ? 2 * ffn : ffn; }

/// Expert GEMM precision (lib/moe/expert_ffn.hpp): fp32 exact; tf32 tensor-core math on fp32
/// data (CUDA only); bf16 operands with fp32 accumulation and fp32 outputs.
enum class Precision { fp32, tf32, bf16 };
constexpr NameTable<3> name_table(Precision) { return {"precision", {"fp32", "tf32", "bf16"}}; }

/// Precision of the token rows on the wire (dispatch, combine and their backward exchanges):
/// automatic = bf16 rows when the expert GEMMs are bf16 (they round their operands to bf16
/// anyway; half the bytes), fp32 rows otherwise; fp32 = always fp32 rows.
enum class WirePrecision { automatic, fp32 };
constexpr NameTable<2> name_table(WirePrecision) { return {"wire precision", {"auto", "fp32"}}; }

/// How the expert GEMMs are launched: one GEMM per expert slot, or one grouped GEMM per stage
/// for all slots (expert_ffn.hpp; pays when experts have few tokens).
enum class ExpertGemm { per_expert, grouped };
constexpr NameTable<2> name_table(ExpertGemm) { return {"expert GEMM launch", {"per-expert", "grouped"}}; }

enum class OptimizerKind { sgd, adam };
constexpr NameTable<2> name_table(OptimizerKind) { return {"optimizer", {"sgd", "adam"}}; }

/// SGD with momentum: s1 = momentum * s1 + g;  w -= lr * s1.
/// Adam: s1 = b1 s1 + (1-b1) g;  s2 = b2 s2 + (1-b2) g^2;
///       w -= lr * (s1 / (1-b1^t)) / (sqrt(s2 / (1-b2^t)) + eps), t = optimizer steps taken.
struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::adam;
  float lr = 1e-3f;
  float momentum = 0.9f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

struct LayerConfig {
  int hidden = 0;   ///< H: token width
  int ffn = 0;      ///< F: expert hidden width (swiglu: W1 is H x 2F)
  int experts = 0;  ///< E
  int top_k = 1;    ///< k in [1, E]
  Activation activation = Activation::gelu;
  Precision precision = Precision::fp32;  ///< expert GEMMs (the gate stays fp32)
  ExpertGemm expert_gemm = ExpertGemm::per_expert;
  WirePrecision wire_precision = WirePrecision::automatic;  ///< token rows: bf16 for bf16 GEMMs, or always fp32
  bool renormalize = true;            ///< gate weights = chosen probabilities / their sum (else the raw softmax values)
  strategy::StrategyConfig strategy;  ///< kind, ep_size, capacity factor, re-placement interval, ...
  comm::Backend backend = comm::Backend::mpi;
  OptimizerConfig optimizer;
  std::uint64_t seed = 1;  ///< weight initialisation (identical on every replica)
  /// A migration's bytes per rank and round each way (moe/migration_rounds.hpp; not a deck key:
  /// tests lower it to force many rounds).
  std::size_t migration_round_bytes = kMigrationRoundBytes;
};

}  // namespace micromoe::moe
