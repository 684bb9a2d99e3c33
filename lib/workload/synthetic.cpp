// SPDX-License-Identifier: BSD-3-Clause
#include "workload/synthetic.hpp"

#include <cmath>

#include "core/error.hpp"
#include "workload/counter_random.hpp"

namespace micromoe::workload {

namespace {
constexpr std::uint64_t kCenterStream = 0xce47;
constexpr std::uint64_t kTokenStream = 0x70c3;
// Free function: CUDA does not allow extended lambdas inside constructors.
void fill_centers(const RowMatrix<float>& centers, std::uint64_t seed) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(centers.extent(1)));
  Kokkos::parallel_for(
      "micromoe::SyntheticWorkload::centers",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>({0, 0}, {centers.extent(0), centers.extent(1)}),
      KOKKOS_LAMBDA(const int k, const int h) {
        centers(k, h) = scale * normal01(hash_indices(seed, kCenterStream, k, h));
      });
}
}  // namespace

SyntheticWorkload::SyntheticWorkload(const SyntheticConfig& config)
    : config_(config),
      schedule_(config.popularity),
      centers_(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("micromoe::SyntheticWorkload::centers")),
               config.popularity.clusters, config.hidden),
      cdf_(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("micromoe::SyntheticWorkload::cdf")),
           config.popularity.clusters) {
  MICROMOE_REQUIRE(config.hidden > 0 && config.tokens >= 0, "synthetic workload needs hidden > 0 and tokens >= 0");
  fill_centers(centers_, config.popularity.seed);
}

void SyntheticWorkload::generate(const ExecSpace& exec, int iteration, int micro_batch, int rank,
                                 const RowMatrix<float>& x, const Kokkos::View<int*, MemSpace>& cluster) {
  MICROMOE_REQUIRE(x.extent(0) == cluster.extent(0) && static_cast<int>(x.extent(1)) == config_.hidden,
                   "synthetic workload: x must be [tokens, hidden] and cluster [tokens]");
  if (cdf_iteration_ != iteration) {
    const auto p = schedule_.at(iteration);
    auto cdf_host = Kokkos::create_mirror_view(cdf_);
    double running = 0;
    for (std::size_t k = 0; k < p.size(); ++k) cdf_host(k) = (running += p[k]);
    cdf_host(p.size() - 1) = 1.0;  // guard the last bucket against rounding
    Kokkos::deep_copy(exec, cdf_, cdf_host);
    exec.fence();  // cdf_host is a temporary
    cdf_iteration_ = iteration;
  }
  const auto cdf = cdf_;
  const auto centers = centers_;
  const int clusters = config_.popularity.clusters;
  const int hidden = config_.hidden;
  const float noise = config_.noise * (1.0f / std::sqrt(static_cast<float>(hidden)));
  const std::uint64_t seed = config_.popularity.seed;
  const auto batch = (static_cast<std::uint64_t>(iteration) << 32) ^ (static_cast<std::uint64_t>(micro_batch) << 16);
  Kokkos::parallel_for(
      "micromoe::SyntheticWorkload::tokens", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const int t) {
        const std::uint64_t h = hash_indices(seed, kTokenStream, batch, rank, t);
        const double u = static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);  // 53-bit uniform
        int lo = 0, hi = clusters - 1;                                               // first k with cdf(k) > u
        while (lo < hi) {
          const int mid = (lo + hi) / 2;
          if (cdf(mid) > u)
            hi = mid;
          else
            lo = mid + 1;
        }
        cluster(t) = lo;
        for (int d = 0; d < hidden; ++d) x(t, d) = centers(lo, d) + noise * normal01(mix64(h) + 4u * d);
      });
}

}  // namespace micromoe::workload
