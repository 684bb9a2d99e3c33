// SPDX-License-Identifier: BSD-3-Clause
// Sizes checked before anything is allocated: every buffer of every strategy of a deck against
// what one Kokkos View can hold (view_limits.hpp), and every int count (MPI displacements,
// kernel league sizes) against INT_MAX. `check`, `run` and `emulate` call it right after the
// deck is read.
#pragma once

#include "deck/run_config.hpp"

namespace micromoe::budget {

/// Throws InputError for the first size of the deck (resolved for `ranks` ranks) that exceeds a
/// limit: "deck SOURCE: model.hidden, model.ffn, ...: <buffer> of strategy 's' holds N elements
/// per rank, more than the L ...; fix: ...". Pure: no MPI, no allocation.
void check_size_limits(const deck::RunConfig& resolved, int ranks);

}  // namespace micromoe::budget
