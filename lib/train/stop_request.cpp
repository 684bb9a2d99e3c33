// SPDX-License-Identifier: BSD-3-Clause
#include "train/stop_request.hpp"

#include <csignal>

#include "core/error.hpp"

namespace micromoe::train {

namespace {
volatile std::sig_atomic_t g_stop = 0;
// The first signal asks for a clean stop; a second one ends the process as if no handler were
// installed, so a rank stuck where the flag is never read (a blocking call, a long loop) can
// always be ended by signalling it again.
extern "C" void on_stop_signal(int signal) {
  if (g_stop == 0) {
    g_stop = 1;
    return;
  }
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}
}  // namespace

void install_stop_handler() {
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
}

bool stop_requested_locally() { return g_stop != 0; }

bool stop_requested(MPI_Comm comm, bool also) {
  int local = g_stop != 0 || also ? 1 : 0, any = 0;
  MICROMOE_CHECK_MPI(MPI_Allreduce(&local, &any, 1, MPI_INT, MPI_MAX, comm));
  return any != 0;
}

void set_stop_requested_for_testing(bool value) { g_stop = value ? 1 : 0; }

}  // namespace micromoe::train
