# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the run scripts and the regression tests: find_python prints the first interpreter
# that has h5py and numpy (MICROMOE_PYTHON if set; Debian's /usr/bin/python3 here; the GPU
# machine's python3 on PATH there), or prints nothing and fails.
find_python() {
  local candidate
  for candidate in ${MICROMOE_PYTHON:-} /usr/bin/python3 python3 /usr/local/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import h5py, numpy" 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
