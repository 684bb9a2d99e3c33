# SPDX-License-Identifier: BSD-3-Clause
# Sourced first by every regression script: strict mode, MPIEXEC_FLAGS defaulted (CMake passes
# MPIEXEC_PREFLAGS, e.g. Open MPI's --allow-run-as-root), PYTHON (python.sh), and a scratch
# directory that becomes the working directory and is removed on exit.
set -euo pipefail
MPIEXEC_FLAGS=${MPIEXEC_FLAGS:-}
source "$(dirname "${BASH_SOURCE[0]}")/python.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
