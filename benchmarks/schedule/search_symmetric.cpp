// SPDX-License-Identifier: BSD-3-Clause
// How good can a load-agnostic placement be in the paper's balance setting (8 GPUs, 8 slots, 32
// experts, d = 2)? Under the same-slot rule every slot index is a perfect matching, so a placement
// is an 8-regular multigraph of 32 expert edges. Seeded simulated annealing over all 8-tuples of
// perfect matchings (a move re-pairs two edges of one slot) minimises the expected optimal
// imbalance over random Zipf(s) rankings (continuous optimum: the max induced density, exact by
// a subset-sum transform over the 256 GPU sets; shares of top-2 routing without replacement).
// Scored on an in-sample ranking set and on a 20,000-ranking held-out set; the circle design
// (K8 plus one repeated round) is the reference. Floating point: analysis only.
//   search_symmetric [s=1.0] [iterations=4000] [in-sample rankings=3000] [seed=1]
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

namespace {

constexpr int G = 8, S = 8, E = 32, K = E / S;
using Graph = std::array<std::array<int, 2>, E>;  // expert e: slot e / K, GPU pair (u, v)
using Rankings = std::vector<std::vector<int>>;   // [t][e] = popularity rank of expert e

std::vector<double> top2_shares(double s) {  // P(expert of rank r chosen by a top-2 token) / 2
  std::vector<double> p(E), q(E);
  double h = 0;
  for (int r = 0; r < E; ++r) h += p[r] = std::pow(r + 1.0, -s);
  for (auto& v : p) v /= h;
  for (int e = 0; e < E; ++e) {
    double pr = p[e];
    for (int j = 0; j < E; ++j)
      if (j != e) pr += p[j] * p[e] / (1 - p[j]);
    q[e] = pr / 2;
  }
  return q;
}

Rankings random_rankings(int n, unsigned seed) {
  std::mt19937_64 rng(seed);
  Rankings r(static_cast<std::size_t>(n), std::vector<int>(E));
  for (auto& v : r) {
    std::iota(v.begin(), v.end(), 0);
    std::shuffle(v.begin(), v.end(), rng);
  }
  return r;
}

struct Score {
  double mean = 0, over = 0;                    // mean optimal imbalance, share of rankings above 1.01
  std::array<double, G + 1> share{}, excess{};  // by size of the densest set
};

Score evaluate(const Graph& g, const Rankings& ranks, const std::vector<double>& q) {
  Score sc;
  std::array<double, 256> f;
  for (const auto& rk : ranks) {
    f.fill(0);
    for (int e = 0; e < E; ++e) f[(1u << g[e][0]) | (1u << g[e][1])] += q[rk[e]];
    for (int b = 0; b < G; ++b)
      for (int U = 0; U < 256; ++U)
        if (U >> b & 1) f[U] += f[U ^ (1 << b)];
    double m = 1.0;
    int arg = 0;
    for (int U = 1; U < 256; ++U) {
      const double v = f[U] * G / __builtin_popcount(U);
      if (v > m + 1e-12) m = v, arg = U;
    }
    sc.mean += m;
    sc.over += m > 1.01;
    sc.share[__builtin_popcount(arg)] += 1;
    sc.excess[__builtin_popcount(arg)] += m - 1;
  }
  const double n = static_cast<double>(ranks.size());
  sc.mean /= n;
  sc.over /= n;
  for (int k = 0; k <= G; ++k) sc.share[k] /= n, sc.excess[k] /= n;
  return sc;
}

Graph circle_design() {  // K8 by the circle method (7 rounds), round 0 repeated in slot 7
  Graph g;
  int e = 0;
  for (int j = 0; j < S; ++j) {
    const int r = j * 7 / S;
    g[e++] = {r, 7};
    for (int t = 1; t <= 3; ++t) g[e++] = {(r + t) % 7, (r - t + 7) % 7};
  }
  return g;
}

void report(const char* name, const Graph& g, const Score& in, const Score& out) {
  int mult[G][G] = {}, hist[E + 1] = {};
  for (const auto& e : g) ++mult[e[0]][e[1]], ++mult[e[1]][e[0]];
  for (int u = 0; u < G; ++u)
    for (int v = u + 1; v < G; ++v) ++hist[mult[u][v]];
  std::printf("%s: in-sample %.4f, held out %.4f (share above 1.01: %.3f); pairs by multiplicity:", name, in.mean,
              out.mean, out.over);
  for (int m = 0; m <= E; ++m)
    if (hist[m]) std::printf(" %d x %d", hist[m], m);
  std::printf("\n  densest set size: share of rankings / contribution to the mean excess:");
  for (int k = 1; k <= G; ++k)
    if (out.share[k] > 0) std::printf("  %d: %.3f / %.4f", k, out.share[k], out.excess[k]);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const double s = argc > 1 ? std::atof(argv[1]) : 1.0;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 4000, n_in = argc > 3 ? std::atoi(argv[3]) : 3000;
  const unsigned seed = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 1;
  const auto q = top2_shares(s);
  const Rankings in = random_rankings(n_in, 12345), held = random_rankings(20000, 999);
  std::printf("Zipf(%.2f), top-2 shares: hottest %.4f (x4 = %.3f of a GPU pair's share), coldest %.5f\n", s, q[0],
              4 * q[0], q[E - 1]);
  Graph cur = circle_design(), best = cur;
  report("circle design", cur, evaluate(cur, in, q), evaluate(cur, held, q));
  std::mt19937_64 rng(seed);
  double c = evaluate(cur, in, q).mean, bestv = c;
  for (int it = 0; it < iterations; ++it) {
    Graph nx = cur;
    const int j = static_cast<int>(rng() % S), a = static_cast<int>(rng() % K), b = static_cast<int>(rng() % K);
    if (a == b) continue;
    std::swap(nx[j * K + a][1], nx[j * K + b][rng() & 1]);  // re-pair two edges of slot j
    const double v = evaluate(nx, in, q).mean;
    const double temp = 0.003 * (1.0 - static_cast<double>(it) / iterations) + 1e-6;
    if (v <= c || std::uniform_real_distribution<double>(0, 1)(rng) < std::exp((c - v) / temp)) cur = nx, c = v;
    if (c < bestv) best = cur, bestv = c;
  }
  report("best found", best, evaluate(best, in, q), evaluate(best, held, q));
}
