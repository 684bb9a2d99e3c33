// SPDX-License-Identifier: BSD-3-Clause
// Which expert copies a migration moves, and in which round: a re-placement's transfers split
// into rounds in which no rank sends or receives more than a bound of rows, so the transfer
// buffers and the MPI backend's page-locked staging stay bounded whatever the migration moves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "schedule/placement.hpp"

namespace micromoe::moe {

/// Bytes of expert copies a rank sends (and receives) per migration round at most (a larger
/// copy travels in pieces). 256 MiB: an all-to-all of that many bytes through
/// host memory takes tens of milliseconds, far above a round's own latency (well under 1 ms at
/// the rank counts of one node), while the staging stays a few hundred MB per rank instead of
/// growing to a whole first migration (several GB per rank, 13-16 s to pin on the H200).
inline constexpr std::size_t kMigrationRoundBytes = std::size_t{256} << 20;

/// One piece of an expert copy a migration moves: (gpu `to_gpu`, slot `to_slot`) of the new
/// placement gets piece `piece` of its expert from `from_gpu` (slot `from_slot` of the old
/// placement).
struct MigrationTransfer {
  int to_gpu = 0;
  int to_slot = 0;
  int from_gpu = 0;
  int from_slot = 0;
  int piece = 0;
  int round = 0;
};

struct MigrationRounds {
  /// Every piece of every copy, ordered by (to_gpu, to_slot, piece); a rank's own copies
  /// (from_gpu == to_gpu) included.
  std::vector<MigrationTransfer> transfers;
  int rounds = 0;
  /// Pieces this rank sends / receives in its fullest round.
  std::int64_t max_send_rows(int rank) const;
  std::int64_t max_recv_rows(int rank) const;
};

/// The transfers from placement `from` to `to`, each copy in `pieces` pieces (>= 1), in rounds
/// of at most `pieces_per_round` pieces sent and received per rank (>= 1). Every (gpu, slot) of `to` gets its expert
/// from the gpu itself when it already holds it, else from one of the expert's replicas in `from` (spread by
/// destination). With the slot count unchanged, a (gpu, slot) that keeps its expert moves
/// nothing. Each piece goes in the first round where its sender and receiver both have room.
/// The same on every rank (computed from the placements alone).
MigrationRounds plan_migration(const schedule::Placement& from, const schedule::Placement& to,
                               std::int64_t pieces_per_round, int pieces = 1);

/// How a migration cuts its copies of `row_bytes` each for rounds of `round_bytes`: `pieces` per
/// copy of `piece_floats` floats each (the last one padded), `per_round` pieces per round.
struct MigrationPieces {
  int pieces = 1;
  std::int64_t piece_floats = 0;
  std::int64_t per_round = 1;
};
MigrationPieces migration_pieces(std::int64_t row_floats, std::size_t round_bytes);

}  // namespace micromoe::moe
