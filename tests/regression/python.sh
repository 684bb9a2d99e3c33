# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the regression scripts: PYTHON = the first interpreter that has h5py and numpy
# (Debian's /usr/bin/python3 here; the GPU machine's python3 elsewhere on PATH).
for candidate in ${MICROMOE_PYTHON:-} /usr/bin/python3 python3; do
  if "$candidate" -c "import h5py, numpy" 2>/dev/null; then
    PYTHON=$candidate
    break
  fi
done
[[ -n ${PYTHON:-} ]] || { echo "no python3 with h5py and numpy (apt-get install python3-h5py)"; exit 1; }
