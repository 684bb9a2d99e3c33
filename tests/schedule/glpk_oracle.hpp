// SPDX-License-Identifier: BSD-3-Clause
// GLPK models of the scheduling problem: the LP oracle of the scheduler tests and the
// warm-started LP comparator of its benchmarks (the class of method the MicroEP paper uses).
#pragma once

#include <glpk.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "schedule/placement.hpp"
#include "schedule/solver.hpp"

namespace micromoe::schedule::testing {

struct GlpProbDeleter {
  void operator()(glp_prob* p) const { glp_delete_prob(p); }
};
using GlpProb = std::unique_ptr<glp_prob, GlpProbDeleter>;

inline void glpk_quiet() {
  static const bool once = [] {
    glp_term_out(GLP_OFF);
    return true;
  }();
  (void)once;
}

/// min T s.t. sum_g x[e][g] = L[e], sum_e x[e][g] <= T * w_g / max_w, x >= 0 (continuous).
/// Built once; solve(loads) changes the expert rows' bounds and re-solves from the previous
/// basis with the dual simplex (a warm start).
class LpMinMax {
 public:
  explicit LpMinMax(const Placement& p, const std::vector<std::int64_t>& weights = {}) : G_(p.gpus), E_(p.experts) {
    glpk_quiet();
    prob_.reset(glp_create_prob());
    glp_prob* lp = prob_.get();
    glp_set_obj_dir(lp, GLP_MIN);
    // Columns: x for every (expert, replica), then T.
    for (int e = 0; e < E_; ++e)
      for (int g : p.replicas(e)) {
        col_e_.push_back(e);
        col_g_.push_back(g);
      }
    const int ncols = static_cast<int>(col_e_.size()) + 1;
    glp_add_cols(lp, ncols);
    for (int c = 1; c < ncols; ++c) glp_set_col_bnds(lp, c, GLP_LO, 0.0, 0.0);
    T_ = ncols;
    glp_set_col_bnds(lp, T_, GLP_LO, 0.0, 0.0);
    glp_set_obj_coef(lp, T_, 1.0);
    glp_add_rows(lp, E_ + G_);
    double wmax = 1;
    for (auto w : weights) wmax = std::max(wmax, static_cast<double>(w));
    std::vector<int> ia{0}, ja{0};
    std::vector<double> ar{0};
    for (std::size_t c = 0; c < col_e_.size(); ++c) {
      ia.push_back(col_e_[c] + 1);
      ja.push_back(static_cast<int>(c) + 1);
      ar.push_back(1.0);
      ia.push_back(E_ + col_g_[c] + 1);
      ja.push_back(static_cast<int>(c) + 1);
      ar.push_back(1.0);
    }
    for (int g = 0; g < G_; ++g) {
      ia.push_back(E_ + g + 1);
      ja.push_back(T_);
      ar.push_back(weights.empty() ? -1.0 : -static_cast<double>(weights[static_cast<std::size_t>(g)]) / wmax);
      glp_set_row_bnds(lp, E_ + g + 1, GLP_UP, 0.0, 0.0);
    }
    for (int e = 0; e < E_; ++e) glp_set_row_bnds(lp, e + 1, GLP_FX, 0.0, 0.0);
    glp_load_matrix(lp, static_cast<int>(ia.size()) - 1, ia.data(), ja.data(), ar.data());
  }

  /// Returns the continuous optimum m* for these loads.
  double solve(const std::vector<std::int64_t>& loads) {
    glp_prob* lp = prob_.get();
    for (int e = 0; e < E_; ++e) {
      const double l = static_cast<double>(loads[static_cast<std::size_t>(e)]);
      glp_set_row_bnds(lp, e + 1, GLP_FX, l, l);
    }
    glp_smcp parm;
    glp_init_smcp(&parm);
    parm.msg_lev = GLP_MSG_OFF;
    if (first_) {
      glp_adv_basis(lp, 0);
      first_ = false;
    } else {
      parm.meth = GLP_DUALP;
    }
    const int rc = glp_simplex(lp, &parm);
    if (rc != 0 || glp_get_status(lp) != GLP_OPT) {
      // Retry from scratch (a warm basis can be singular after large changes).
      glp_std_basis(lp);
      glp_init_smcp(&parm);
      parm.msg_lev = GLP_MSG_OFF;
      if (glp_simplex(lp, &parm) != 0 || glp_get_status(lp) != GLP_OPT) throw std::runtime_error("GLPK: no optimum");
    }
    return glp_get_obj_val(lp);
  }
  /// x[e][g] of the last LP solution (continuous).
  double x(std::size_t col) const { return glp_get_col_prim(prob_.get(), static_cast<int>(col) + 1); }
  std::size_t columns() const { return col_e_.size(); }

 private:
  int G_, E_, T_ = 0;
  std::vector<int> col_e_, col_g_;
  GlpProb prob_;
  bool first_ = true;
};

/// Locality oracle: with every GPU load capped at `caps[g]`, the largest possible token volume
/// that stays on its GPU (node_size == 0) or on its node (node_size >= 1). Returns -1 when the
/// caps are infeasible. Integral because it is a network flow.
inline std::int64_t lp_best_local(const Placement& p, const CountMatrix& c, const std::vector<std::int64_t>& caps,
                                  int node_size) {
  glpk_quiet();
  GlpProb holder(glp_create_prob());
  glp_prob* lp = holder.get();
  glp_set_obj_dir(lp, GLP_MAX);
  const int G = p.gpus, E = p.experts;
  const int per = node_size >= 1 ? node_size : 1;
  // Columns: x[e,g] per replica, then z[e,n] per (expert, node with a replica).
  std::vector<int> xe, xg;
  for (int e = 0; e < E; ++e)
    for (int g : p.replicas(e)) {
      xe.push_back(e);
      xg.push_back(g);
    }
  std::vector<int> ze, zn;
  for (int e = 0; e < E; ++e) {
    int last = -1;
    for (int g : p.replicas(e))
      if (g / per != last) {
        last = g / per;
        ze.push_back(e);
        zn.push_back(last);
      }
  }
  const int nx = static_cast<int>(xe.size()), nz = static_cast<int>(ze.size());
  glp_add_cols(lp, nx + nz);
  for (int i = 1; i <= nx; ++i) glp_set_col_bnds(lp, i, GLP_LO, 0.0, 0.0);
  for (int k = 0; k < nz; ++k) {
    std::int64_t cn = 0;
    for (int s = 0; s < G; ++s)
      if (s / per == zn[static_cast<std::size_t>(k)]) cn += c(s, ze[static_cast<std::size_t>(k)]);
    glp_set_col_bnds(lp, nx + k + 1, GLP_DB, 0.0, static_cast<double>(cn));
    if (cn == 0) glp_set_col_bnds(lp, nx + k + 1, GLP_FX, 0.0, 0.0);
    glp_set_obj_coef(lp, nx + k + 1, 1.0);
  }
  // Rows: expert conservation (E), GPU caps (G), z[e,n] <= sum_{g in n} x[e,g] (nz).
  glp_add_rows(lp, E + G + nz);
  std::vector<int> ia{0}, ja{0};
  std::vector<double> ar{0};
  std::vector<std::int64_t> loads = c.expert_loads();
  for (int e = 0; e < E; ++e) {
    const double l = static_cast<double>(loads[static_cast<std::size_t>(e)]);
    glp_set_row_bnds(lp, e + 1, GLP_FX, l, l);
  }
  for (int g = 0; g < G; ++g)
    glp_set_row_bnds(lp, E + g + 1, GLP_UP, 0.0, static_cast<double>(caps[static_cast<std::size_t>(g)]));
  for (int i = 0; i < nx; ++i) {
    ia.push_back(xe[static_cast<std::size_t>(i)] + 1);
    ja.push_back(i + 1);
    ar.push_back(1.0);
    ia.push_back(E + xg[static_cast<std::size_t>(i)] + 1);
    ja.push_back(i + 1);
    ar.push_back(1.0);
  }
  for (int k = 0; k < nz; ++k) {
    const int row = E + G + k + 1;
    glp_set_row_bnds(lp, row, GLP_UP, 0.0, 0.0);
    ia.push_back(row);
    ja.push_back(nx + k + 1);
    ar.push_back(1.0);
    for (int i = 0; i < nx; ++i)
      if (xe[static_cast<std::size_t>(i)] == ze[static_cast<std::size_t>(k)] &&
          xg[static_cast<std::size_t>(i)] / per == zn[static_cast<std::size_t>(k)]) {
        ia.push_back(row);
        ja.push_back(i + 1);
        ar.push_back(-1.0);
      }
  }
  glp_load_matrix(lp, static_cast<int>(ia.size()) - 1, ia.data(), ja.data(), ar.data());
  glp_smcp parm;
  glp_init_smcp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  glp_adv_basis(lp, 0);
  if (glp_simplex(lp, &parm) != 0) return -1;
  if (glp_get_status(lp) != GLP_OPT) return -1;
  return static_cast<std::int64_t>(std::llround(glp_get_obj_val(lp)));
}

/// Feasibility of integral caps (an LP; integral data make it exact).
inline bool lp_feasible(const Placement& p, const CountMatrix& c, const std::vector<std::int64_t>& caps) {
  return lp_best_local(p, c, caps, 0) >= 0;
}

}  // namespace micromoe::schedule::testing
