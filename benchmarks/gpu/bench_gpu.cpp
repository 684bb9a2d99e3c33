// SPDX-License-Identifier: BSD-3-Clause
// bench_gpu: the data path of one GPU against its floors, in one process and one call:
//   floor    device copy bandwidth; vendor GEMM rates (fp32, tf32, bf16) at the expert shapes
//   ffn      ExpertFFN forward + backward per precision, as a fraction of the vendor rate
//   stage    the six GEMMs of fwd + bwd alone, the bf16 conversion and the activation
//   small    many experts with few tokens: per-expert GEMMs against one grouped launch
//   permute  dispatch / combine row kernels, as a fraction of the copy bandwidth
//   optimizer  the Adam / SGD pass over the parameters, as a fraction of the copy bandwidth
//   layer    one MoE layer training step against its floor, its phases, its fixed cost
// Usage: bench_gpu [--quick] [--csv FILE] [--sections floor,ffn,stage,small,permute,optimizer,layer]
// Run as one process (mpiexec -n 1 or directly). docs/PERFORMANCE.md records its output.
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstring>
#include <iostream>
#include <set>
#include <sstream>

#include "core/build_info.hpp"
#include "sections.hpp"

namespace {

std::set<std::string> split(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.insert(item);
  return out;
}

int run(int argc, char** argv) {
  using namespace micromoe::bench;
  Options o;
  std::string csv;
  std::set<std::string> sections = {"floor", "ffn", "stage", "small", "permute", "optimizer", "layer"};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--csv" && i + 1 < argc) {
      csv = argv[++i];
    } else if (a == "--sections" && i + 1 < argc) {
      sections = split(argv[++i]);
    } else if (a.rfind("--kokkos", 0) == 0) {
      continue;
    } else {
      std::cerr
          << "bench_gpu: unknown argument '" << a
          << "'; usage: bench_gpu [--quick] [--csv FILE] [--sections floor,ffn,stage,small,permute,optimizer,layer]\n";
      return 2;
    }
  }
  using micromoe::moe::Activation;
  if (o.quick) {
    o.models = {{"tiny", 64, 128, Activation::gelu}, {"tiny-swiglu", 64, 96, Activation::swiglu}};
    o.tokens = {16, 64};
  } else {
    // GPT 32x1.3B-like (H 2048, F 8192), Mixtral-like (H 4096, F 14336, swiglu), H 4096 / F 16384.
    o.models = {{"gpt-h2048-f8192", 2048, 8192, Activation::gelu},
                {"mixtral-h4096-f14336", 4096, 14336, Activation::swiglu},
                {"h4096-f16384", 4096, 16384, Activation::gelu}};
    o.tokens = {256, 1024, 4096, 16384};
  }
  std::cout << micromoe::build_info_text() << "\n";
  Results results;
  // The floors are measured in every run: every other section is a fraction of them.
  const Floors floors = measure_floors(o, results);
  if (sections.count("stage")) measure_ffn_stages(o, floors, results);
  if (sections.count("ffn")) measure_ffn(o, floors, results);
  if (sections.count("small")) measure_small_experts(o, floors, results);
  if (sections.count("permute")) measure_permute(o, floors, results);
  if (sections.count("optimizer")) measure_optimizer(o, floors, results);
  if (sections.count("layer")) measure_layer_step(o, floors, results);
  if (!csv.empty()) results.write_csv(csv);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rc = 0;
  Kokkos::initialize(argc, argv);
  try {
    rc = run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_gpu: error: " << e.what() << std::endl;
    rc = 1;
  }
  Kokkos::finalize();
  MPI_Finalize();
  return rc;
}
