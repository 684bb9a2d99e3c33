#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run/check-format.sh [--fix] - clang-format check of every C++ source (CI runs it).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.hpp.in')
if [[ ${1:-} == --fix ]]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
  echo "clang-format: ${#files[@]} files clean"
fi
