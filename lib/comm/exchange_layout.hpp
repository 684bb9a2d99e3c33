// SPDX-License-Identifier: BSD-3-Clause
// Who sends how many rows to whom in one all-to-all-v.
#pragma once

#include <cstdint>
#include <vector>

namespace micromoe::comm {

/// Per-peer row counts and offsets of one all-to-all-v, as seen by one rank. Every rank of
/// MicroMoE computes the same plan, so both sides are known locally: no count exchange.
struct ExchangeLayout {
  std::vector<std::int64_t> send_counts;   ///< rows sent to peer r
  std::vector<std::int64_t> send_offsets;  ///< first send row for peer r
  std::vector<std::int64_t> recv_counts;   ///< rows received from peer r
  std::vector<std::int64_t> recv_offsets;  ///< first receive row for peer r

  /// Offsets are the exclusive prefix sums of the counts (blocks in rank order).
  /// Throws micromoe::Error on negative counts or mismatched sizes.
  static ExchangeLayout from_counts(std::vector<std::int64_t> send_counts, std::vector<std::int64_t> recv_counts);

  int peers() const { return static_cast<int>(send_counts.size()); }
  std::int64_t send_rows() const;
  std::int64_t recv_rows() const;

  /// The reverse exchange (combine after dispatch): what was received is sent back.
  ExchangeLayout reversed() const;
};

}  // namespace micromoe::comm
