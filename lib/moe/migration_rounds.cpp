// SPDX-License-Identifier: BSD-3-Clause
#include "moe/migration_rounds.hpp"

#include <algorithm>
#include <stdexcept>

namespace micromoe::moe {

namespace {
std::int64_t max_rows(const MigrationRounds& m, int rank, bool sending) {
  std::vector<std::int64_t> per_round(static_cast<std::size_t>(m.rounds), 0);
  for (const auto& t : m.transfers)
    if ((sending ? t.from_gpu : t.to_gpu) == rank) ++per_round[static_cast<std::size_t>(t.round)];
  return per_round.empty() ? 0 : *std::max_element(per_round.begin(), per_round.end());
}
}  // namespace

std::int64_t MigrationRounds::max_send_rows(int rank) const { return max_rows(*this, rank, true); }
std::int64_t MigrationRounds::max_recv_rows(int rank) const { return max_rows(*this, rank, false); }

MigrationPieces migration_pieces(std::int64_t row_floats, std::size_t round_bytes) {
  MigrationPieces p;
  const std::size_t row_bytes = static_cast<std::size_t>(std::max<std::int64_t>(row_floats, 1)) * sizeof(float);
  const std::size_t bound = std::max<std::size_t>(round_bytes, sizeof(float));
  p.pieces = static_cast<int>((row_bytes + bound - 1) / bound);
  p.piece_floats = (std::max<std::int64_t>(row_floats, 1) + p.pieces - 1) / p.pieces;
  p.per_round = static_cast<std::int64_t>(
      std::max<std::size_t>(1, bound / (static_cast<std::size_t>(p.piece_floats) * sizeof(float))));
  return p;
}

MigrationRounds plan_migration(const schedule::Placement& from, const schedule::Placement& to,
                               std::int64_t pieces_per_round, int pieces) {
  if (pieces_per_round < 1) throw std::invalid_argument("plan_migration: pieces per round must be >= 1");
  if (pieces < 1) throw std::invalid_argument("plan_migration: pieces per copy must be >= 1");
  const int G = to.gpus;
  auto source = [&](int g, int e) {
    const auto& reps = from.replicas(e);
    if (std::binary_search(reps.begin(), reps.end(), g)) return g;
    return reps[static_cast<std::size_t>(g) % reps.size()];
  };
  const bool in_place = from.slots_per_gpu == to.slots_per_gpu;
  MigrationRounds out;
  // Pieces each rank sends / receives in each round so far.
  std::vector<std::vector<std::int64_t>> sent(static_cast<std::size_t>(G)), received(static_cast<std::size_t>(G));
  auto used = [](const std::vector<std::int64_t>& v, int r) { return r < static_cast<int>(v.size()) ? v[r] : 0; };
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < to.slots_per_gpu; ++j) {
      const int e = to.expert(g, j);
      if (e < 0 || (in_place && from.expert(g, j) == e)) continue;
      for (int k = 0; k < pieces; ++k) {
        MigrationTransfer t{g, j, source(g, e), from.slot_on(source(g, e), e), k, 0};
        auto& s = sent[static_cast<std::size_t>(t.from_gpu)];
        auto& r = received[static_cast<std::size_t>(g)];
        while (used(s, t.round) >= pieces_per_round || used(r, t.round) >= pieces_per_round) ++t.round;
        for (auto* v : {&s, &r})
          if (static_cast<int>(v->size()) <= t.round) v->resize(static_cast<std::size_t>(t.round) + 1, 0);
        ++s[static_cast<std::size_t>(t.round)];
        ++r[static_cast<std::size_t>(t.round)];
        out.rounds = std::max(out.rounds, t.round + 1);
        out.transfers.push_back(t);
      }
    }
  return out;
}

}  // namespace micromoe::moe
