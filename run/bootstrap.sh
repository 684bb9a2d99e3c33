#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/bootstrap.sh - install everything MicroMoE needs on a fresh Debian 12 machine.
#
#   run/bootstrap.sh [cpu|cuda|kokkos5|sources|all]...   (default: cpu)
#
#   cpu      Debian packages + Kokkos/Kokkos Kernels 3.4.01 (OpenMP+Serial, BLAS TPL)
#            into .deps/cpu
#   cuda     Kokkos/Kokkos Kernels 3.4.01 for CUDA 13 / sm_90 (cuBLAS TPL), with the
#            project's patches from run/patches, into .deps/cuda
#   kokkos5  the Kokkos 5 headers of Debian's libkokkos-dev (compile-only check) into
#            .deps/kokkos5
#   sources  only fetch and cache the sources (what the GPU machine must be given)
#
# Kokkos comes from Debian's trilinos 13.2.0 source package, fetched with apt's own source
# mechanism through a private apt configuration that copies the system's URIs (no host
# name is written here). Everything downloaded is cached under .deps/sources, so a second
# run with the prefix present takes seconds, and .deps/sources is all a machine without
# network needs (see run/device-build.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS=${MICROMOE_DEPS:-$ROOT/.deps}
SOURCES=$DEPS/sources
JOBS=${MICROMOE_JOBS:-$(nproc)}
KOKKOS_VERSION=3.4.01

log() { printf '[bootstrap] %s\n' "$*"; }
die() {
  printf '[bootstrap] error: %s\n' "$*" >&2
  exit 1
}

# --- Debian packages ----------------------------------------------------------------------

DEBIAN_PACKAGES=(
  build-essential cmake git pkg-config xz-utils patch
  mpich libmpich-dev                           # MPI
  libhdf5-dev hdf5-tools                       # reports
  libtomlplusplus-dev                          # input decks
  nlohmann-json3-dev                           # `micromoe schedule` JSON in/out
  libcli11-dev                                 # command line
  libopenblas-dev                              # BLAS TPL of Kokkos Kernels on the CPU
  libgtest-dev libgmock-dev libbenchmark-dev   # tests and benchmarks
  libglpk-dev glpk-utils                       # LP oracle and LP comparator of the scheduler
  python3 python3-h5py python3-matplotlib python3-numpy # post-processing
  clang-format                                 # style check in CI
  clang-14 libclang-rt-14-dev                  # libFuzzer targets and their sanitizers (run/fuzz.sh)
)

install_debian_packages() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "missing Debian packages: ${missing[*]} (run this script as root, or apt-get install them)"
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- a private apt configuration that reuses the system's repository URIs ----------------

# Prints "URI SIGNED_BY" of the first deb822 stanza of the system's main Debian source.
system_debian_uri() {
  local f=/etc/apt/sources.list.d/debian.sources
  if [[ -f $f ]]; then
    awk '/^URIs:/ {u=$2} /^Signed-By:/ {k=$2} /^$/ {if (u) exit} END {print u, k}' "$f"
  elif [[ -f /etc/apt/sources.list ]]; then
    awk '$1=="deb" && $2 !~ /^\[/ {print $2, "/usr/share/keyrings/debian-archive-keyring.gpg"; exit}' /etc/apt/sources.list
  fi
}

# private_apt DIR LINE: writes a sources list with LINE, updates its lists; sets APT_OPTS.
private_apt() {
  local dir=$1 line=$2
  mkdir -p "$dir/lists/partial" "$dir/archives/partial"
  echo "$line" >"$dir/sources.list"
  APT_OPTS=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o "Dir::Etc::sourceparts=/nonexistent"
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache::archives=$dir/archives"
    -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root")
  apt-get -qq "${APT_OPTS[@]}" update
}

fetch_kokkos_sources() {
  [[ -f $SOURCES/kokkos-$KOKKOS_VERSION.tar.gz && -f $SOURCES/kokkos-kernels-$KOKKOS_VERSION.tar.gz ]] && return 0
  read -r uri key < <(system_debian_uri)
  [[ -n ${uri:-} ]] || die "cannot find the system's Debian repository in /etc/apt (needed for apt-get source)"
  local work=$DEPS/cache/trilinos
  mkdir -p "$work" "$SOURCES"
  log "fetching Debian source package trilinos (Kokkos $KOKKOS_VERSION inside; ~166 MB)"
  private_apt "$DEPS/cache/apt-src" "deb-src [signed-by=$key] $uri bookworm main"
  (cd "$work" && apt-get -qq "${APT_OPTS[@]}" source --download-only trilinos)
  local orig
  orig=$(ls "$work"/trilinos_*.orig.tar.* | head -n 1)
  log "extracting packages/kokkos and packages/kokkos-kernels from $(basename "$orig")"
  rm -rf "$work/x" && mkdir -p "$work/x"
  tar -xf "$orig" -C "$work/x" --strip-components=2 --wildcards '*/packages/kokkos/*' '*/packages/kokkos-kernels/*'
  grep -q "Kokkos_VERSION_MAJOR 3" "$work/x/kokkos/CMakeLists.txt" ||
    die "the trilinos source does not hold Kokkos 3.x"
  tar -czf "$SOURCES/kokkos-$KOKKOS_VERSION.tar.gz" -C "$work/x" kokkos
  tar -czf "$SOURCES/kokkos-kernels-$KOKKOS_VERSION.tar.gz" -C "$work/x" kokkos-kernels
  rm -rf "$work/x"
}

# Header-only libraries the GPU machine lacks travel with the sources.
cache_header_only_libraries() {
  [[ -d $SOURCES/include/toml++ ]] && return 0
  mkdir -p "$SOURCES/include"
  cp -r /usr/include/toml++ "$SOURCES/include/"
}

# Kokkos 5 core headers (libkokkos-dev) and, since Debian has no Kokkos Kernels release of its
# own for Kokkos 5, the Kokkos Kernels 4.5 headers of libtrilinos-kokkos-kernels-dev. That
# package was generated for a Serial build while Debian's Kokkos 5 enables only OpenMP, so its
# ETI declarations are pointed at OpenMP (headers of a compile-only check, never linked).
fetch_kokkos5_headers() {
  [[ -f $DEPS/kokkos5/.complete ]] && return 0
  read -r uri key < <(system_debian_uri)
  [[ -n ${uri:-} ]] || die "cannot find the system's Debian repository in /etc/apt"
  log "fetching Debian unstable's libkokkos-dev and libtrilinos-kokkos-kernels-dev (headers, compile-only check)"
  private_apt "$DEPS/cache/apt-sid" "deb [signed-by=$key] $uri sid main"
  rm -rf "$DEPS/kokkos5" "$DEPS/cache/kokkos5"
  mkdir -p "$DEPS/cache/kokkos5" "$DEPS/kokkos5"
  (cd "$DEPS/cache/kokkos5" && apt-get -qq "${APT_OPTS[@]}" download libkokkos-dev libtrilinos-kokkos-kernels-dev)
  dpkg -x "$(ls "$DEPS"/cache/kokkos5/libkokkos-dev_*.deb | head -n 1)" "$DEPS/kokkos5"
  mkdir -p "$DEPS/kokkos5/kernels"
  dpkg -x "$(ls "$DEPS"/cache/kokkos5/libtrilinos-kokkos-kernels-dev_*.deb | head -n 1)" "$DEPS/kokkos5/kernels"
  local kk=$DEPS/kokkos5/kernels/usr/include/trilinos
  sed -i 's/^#define KOKKOSKERNELS_INST_EXECSPACE_SERIAL/#define KOKKOSKERNELS_INST_EXECSPACE_OPENMP/' "$kk/KokkosKernels_config.h"
  sed -i 's/Kokkos::Serial\b/Kokkos::OpenMP/g' "$kk"/generated_specializations_hpp/*.hpp
  touch "$DEPS/kokkos5/.complete"
}

# --- Kokkos builds ------------------------------------------------------------------------

# unpack_sources DEST [patch]: fresh source trees of Kokkos and Kokkos Kernels in DEST.
unpack_sources() {
  local dest=$1
  rm -rf "$dest" && mkdir -p "$dest"
  tar -xzf "$SOURCES/kokkos-$KOKKOS_VERSION.tar.gz" -C "$dest"
  tar -xzf "$SOURCES/kokkos-kernels-$KOKKOS_VERSION.tar.gz" -C "$dest"
  if [[ ${2:-} == patch ]]; then
    for p in "$ROOT"/run/patches/kokkos-*.patch; do
      log "applying $(basename "$p")"
      patch -s -p1 -d "$dest/kokkos" <"$p"
    done
  fi
}

build_cpu() {
  local prefix=$DEPS/cpu
  [[ -f $prefix/.complete ]] && return 0
  local src=$DEPS/build/cpu-src
  unpack_sources "$src"
  log "building Kokkos $KOKKOS_VERSION (OpenMP + Serial) into $prefix"
  cmake -S "$src/kokkos" -B "$DEPS/build/cpu-kokkos" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_CXX_STANDARD=17 \
    -DKokkos_ENABLE_OPENMP=ON -DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_TESTS=OFF >/dev/null
  cmake --build "$DEPS/build/cpu-kokkos" -j "$JOBS" --target install >/dev/null
  # ETI for what the data path instantiates: float, LayoutRight (TokenLayout); halves the build.
  log "building Kokkos Kernels $KOKKOS_VERSION (float LayoutRight ETI, BLAS TPL)"
  cmake -S "$src/kokkos-kernels" -B "$DEPS/build/cpu-kk" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DKokkos_ROOT="$prefix" \
    -DKokkosKernels_ENABLE_TPL_BLAS=ON -DKokkosKernels_INST_FLOAT=ON -DKokkosKernels_INST_DOUBLE=OFF \
    -DKokkosKernels_INST_LAYOUTLEFT=OFF -DKokkosKernels_INST_LAYOUTRIGHT=ON \
    -DKokkosKernels_ENABLE_TESTS=OFF -DKokkosKernels_ENABLE_EXAMPLES=OFF >/dev/null
  cmake --build "$DEPS/build/cpu-kk" -j "$JOBS" --target install >/dev/null
  rm -rf "$DEPS/build/cpu-src" "$DEPS/build/cpu-kokkos" "$DEPS/build/cpu-kk"
  touch "$prefix/.complete"
}

build_cuda() {
  local prefix=$DEPS/cuda
  [[ -f $prefix/.complete ]] && return 0
  local nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
  [[ -x $nvcc ]] || die "nvcc not found (install the CUDA 13 toolkit or set CUDACXX)"
  export PATH=$(dirname "$nvcc"):$PATH
  local src=$DEPS/build/cuda-src
  unpack_sources "$src" patch
  log "building Kokkos $KOKKOS_VERSION (CUDA, Hopper sm_90) into $prefix"
  cmake -S "$src/kokkos" -B "$DEPS/build/cuda-kokkos" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_CXX_STANDARD=17 \
    -DCMAKE_CXX_COMPILER="$src/kokkos/bin/nvcc_wrapper" \
    -DKokkos_ENABLE_CUDA=ON -DKokkos_ENABLE_CUDA_LAMBDA=ON -DKokkos_ENABLE_SERIAL=ON \
    -DKokkos_ARCH_HOPPER90=ON -DKokkos_ENABLE_TESTS=OFF >/dev/null
  cmake --build "$DEPS/build/cuda-kokkos" -j "$JOBS" --target install >/dev/null
  log "building Kokkos Kernels $KOKKOS_VERSION (no ETI, cuBLAS TPL)"
  cmake -S "$src/kokkos-kernels" -B "$DEPS/build/cuda-kk" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DKokkos_ROOT="$prefix" \
    -DCMAKE_CXX_COMPILER="$prefix/bin/nvcc_wrapper" \
    -DKokkosKernels_ENABLE_TPL_CUBLAS=ON -DKokkosKernels_ENABLE_TPL_BLAS=OFF \
    -DKokkosKernels_INST_DOUBLE=OFF -DKokkosKernels_INST_FLOAT=OFF \
    -DKokkosKernels_INST_COMPLEX_DOUBLE=OFF -DKokkosKernels_INST_COMPLEX_FLOAT=OFF \
    -DKokkosKernels_INST_OFFSET_SIZE_T=OFF -DKokkosKernels_INST_OFFSET_INT=OFF \
    -DKokkosKernels_INST_ORDINAL_INT=OFF -DKokkosKernels_INST_ORDINAL_INT64_T=OFF \
    -DKokkosKernels_ENABLE_TESTS=OFF -DKokkosKernels_ENABLE_EXAMPLES=OFF >/dev/null
  cmake --build "$DEPS/build/cuda-kk" -j "$JOBS" --target install >/dev/null
  rm -rf "$DEPS/build/cuda-src" "$DEPS/build/cuda-kokkos" "$DEPS/build/cuda-kk"
  touch "$prefix/.complete"
}

# --- main ----------------------------------------------------------------------------------

targets=("$@")
((${#targets[@]})) || targets=(cpu)
[[ ${targets[*]} == *all* ]] && targets=(cpu cuda kokkos5)
start=$SECONDS
for t in "${targets[@]}"; do
  case $t in
  cpu) [[ -z ${MICROMOE_OFFLINE:-} ]] && install_debian_packages
       fetch_kokkos_sources; cache_header_only_libraries; build_cpu ;;
  cuda) fetch_kokkos_sources; build_cuda ;;
  kokkos5) fetch_kokkos5_headers ;;
  sources) fetch_kokkos_sources; cache_header_only_libraries ;;
  *) die "unknown target '$t' (expected cpu, cuda, kokkos5, sources or all)" ;;
  esac
done
log "done in $((SECONDS - start)) s (prefix $DEPS)"
