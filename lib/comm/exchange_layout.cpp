// SPDX-License-Identifier: BSD-3-Clause
#include "comm/exchange_layout.hpp"

#include <numeric>
#include <string>

#include "core/error.hpp"

namespace micromoe::comm {

namespace {
std::vector<std::int64_t> exclusive_prefix_sum(const std::vector<std::int64_t>& counts, const char* what) {
  std::vector<std::int64_t> offsets(counts.size(), 0);
  std::int64_t running = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    if (counts[r] < 0) throw Error(std::string("negative ") + what + " count for peer " + std::to_string(r));
    offsets[r] = running;
    running += counts[r];
  }
  return offsets;
}
}  // namespace

ExchangeLayout ExchangeLayout::from_counts(std::vector<std::int64_t> send_counts,
                                           std::vector<std::int64_t> recv_counts) {
  if (send_counts.size() != recv_counts.size())
    throw Error("exchange layout: " + std::to_string(send_counts.size()) + " send counts but " +
                std::to_string(recv_counts.size()) + " receive counts");
  ExchangeLayout layout;
  layout.send_offsets = exclusive_prefix_sum(send_counts, "send");
  layout.recv_offsets = exclusive_prefix_sum(recv_counts, "receive");
  layout.send_counts = std::move(send_counts);
  layout.recv_counts = std::move(recv_counts);
  return layout;
}

std::int64_t ExchangeLayout::send_rows() const {
  return std::accumulate(send_counts.begin(), send_counts.end(), std::int64_t{0});
}

std::int64_t ExchangeLayout::recv_rows() const {
  return std::accumulate(recv_counts.begin(), recv_counts.end(), std::int64_t{0});
}

ExchangeLayout ExchangeLayout::reversed() const {
  return ExchangeLayout{recv_counts, recv_offsets, send_counts, send_offsets};
}

}  // namespace micromoe::comm
