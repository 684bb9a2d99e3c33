# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the regression scripts: PYTHON = the first interpreter that has h5py and numpy
# (run/python.sh says which are tried).
source "$(dirname "${BASH_SOURCE[0]}")/../../run/python.sh"
PYTHON=$(find_python) || { echo "no python3 with h5py and numpy (apt-get install python3-h5py)"; exit 1; }
