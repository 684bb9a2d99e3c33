// SPDX-License-Identifier: BSD-3-Clause
#include "moe/dump.hpp"

#include <mpi.h>

#include "core/error.hpp"
#include "core/kokkos_compat.hpp"
#include "report/hdf5_handles.hpp"

namespace micromoe::moe {

namespace {

std::vector<float> host_rows(const MoELayer::ConstMatrix& m) {
  auto h = Kokkos::create_mirror_view_and_copy(HostSpace(), m);
  return std::vector<float>(h.data(), h.data() + m.extent(0) * m.extent(1));
}

/// Rank-ordered concatenation of every rank's rows on rank 0 (empty elsewhere).
template <class T>
std::vector<T> gather_rows(const std::vector<T>& mine, MPI_Datatype type, MPI_Comm comm) {
  int rank = 0, size = 1;
  MICROMOE_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  MICROMOE_CHECK_MPI(MPI_Comm_size(comm, &size));
  const int n = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), offsets(static_cast<std::size_t>(size), 0);
  MICROMOE_CHECK_MPI(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm));
  std::vector<T> all;
  if (rank == 0) {
    for (int r = 1; r < size; ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
    all.resize(static_cast<std::size_t>(offsets.back() + counts.back()));
  }
  MICROMOE_CHECK_MPI(MPI_Gatherv(mine.data(), n, type, all.data(), counts.data(), offsets.data(), type, 0, comm));
  return all;
}

void write_floats(hid_t loc, const std::string& name, const std::vector<hsize_t>& dims,
                  const std::vector<float>& data) {
  auto space = report::h5::create_dataspace(dims);
  auto set = report::h5::create_dataset(loc, name, H5T_IEEE_F32LE, space.id());
  if (!data.empty())
    MICROMOE_CHECK_HDF5(H5Dwrite(set.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()));
}

void write_ints(hid_t loc, const std::string& name, const std::vector<hsize_t>& dims, const std::vector<int>& data) {
  auto space = report::h5::create_dataspace(dims);
  auto set = report::h5::create_dataset(loc, name, H5T_STD_I32LE, space.id());
  if (!data.empty())
    MICROMOE_CHECK_HDF5(H5Dwrite(set.id(), H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()));
}

}  // namespace

void write_layer_dump(const ExecSpace& exec, const MoELayer& layer, const std::string& path,
                      const MoELayer::ConstMatrix& x, const MoELayer::ConstMatrix& y, const MoELayer::ConstMatrix& dy,
                      const MoELayer::ConstMatrix& dx, const DumpInfo& info) {
  compat::fence(exec, "micromoe::write_layer_dump");
  const auto& cfg = layer.config();
  const int H = cfg.hidden, E = cfg.experts, F = cfg.ffn, k = cfg.top_k;
  const int F1 = w1_columns(cfg.activation, F);
  const int rank = layer.rank();
  const MPI_Comm comm = layer.communicator().get();  // the layer's duplicate of the group
  const auto xs = gather_rows(host_rows(x), MPI_FLOAT, comm);
  const auto ys = gather_rows(host_rows(y), MPI_FLOAT, comm);
  const auto dys = gather_rows(host_rows(dy), MPI_FLOAT, comm);
  const auto dxs = gather_rows(host_rows(dx), MPI_FLOAT, comm);
  const auto choices = gather_rows(layer.last_choices(), MPI_INT, comm);
  const auto kept = gather_rows(layer.last_kept_copies(), MPI_INT, comm);
  const auto weights_k = gather_rows(layer.last_gate_weights(), MPI_FLOAT, comm);
  const std::vector<int> mine{static_cast<int>(x.extent(0))};
  const auto tokens = gather_rows(mine, MPI_INT, comm);
  const HostTensors w = layer.gather(exec, Tensor::weights);
  const HostTensors g = layer.gather(exec, Tensor::gradients, /*sum_replicas=*/true);
  if (rank != 0) return;

  const auto N = static_cast<hsize_t>(xs.size() / static_cast<std::size_t>(H));
  const auto& p = layer.placement();
  namespace h5 = report::h5;
  auto fapl = h5::modern_format_fapl();
  auto file = h5::create_file(path, fapl.id());
  const hid_t root = file.id();
  h5::write_attribute(root, "format", std::string(layer_dump_format));
  h5::write_attribute(root, "format_version", static_cast<std::int64_t>(layer_dump_version));
  h5::write_attribute(root, "hidden", static_cast<std::int64_t>(H));
  h5::write_attribute(root, "ffn", static_cast<std::int64_t>(F));
  h5::write_attribute(root, "experts", static_cast<std::int64_t>(E));
  h5::write_attribute(root, "top_k", static_cast<std::int64_t>(k));
  h5::write_attribute(root, "activation", to_string(cfg.activation));
  h5::write_attribute(root, "renormalize", static_cast<std::int64_t>(cfg.renormalize ? 1 : 0));
  h5::write_attribute(root, "strategy", layer.strategy().name());
  h5::write_attribute(root, "ranks", static_cast<std::int64_t>(layer.ranks()));
  h5::write_attribute(root, "layer", static_cast<std::int64_t>(info.layer_index));
  h5::write_attribute(root, "iteration", static_cast<std::int64_t>(info.iteration));
  h5::write_attribute(root, "micro_batch", static_cast<std::int64_t>(info.micro_batch));
  write_ints(root, "tokens_per_rank", {static_cast<hsize_t>(tokens.size())}, tokens);
  write_floats(root, "x", {N, static_cast<hsize_t>(H)}, xs);
  write_floats(root, "dy", {N, static_cast<hsize_t>(H)}, dys);
  write_floats(root, "y", {N, static_cast<hsize_t>(H)}, ys);
  write_floats(root, "dx", {N, static_cast<hsize_t>(H)}, dxs);
  write_floats(root, "gate_weight", {static_cast<hsize_t>(H), static_cast<hsize_t>(E)}, w.gate);
  write_floats(root, "gate_weight_grad", {static_cast<hsize_t>(H), static_cast<hsize_t>(E)}, g.gate);
  write_ints(root, "choices", {N, static_cast<hsize_t>(k)}, choices);
  write_floats(root, "combine_weights", {N, static_cast<hsize_t>(k)}, weights_k);
  write_ints(root, "kept", {N, static_cast<hsize_t>(k)}, kept);
  const std::vector<hsize_t> d1{static_cast<hsize_t>(E), static_cast<hsize_t>(H), static_cast<hsize_t>(F1)};
  const std::vector<hsize_t> d2{static_cast<hsize_t>(E), static_cast<hsize_t>(F), static_cast<hsize_t>(H)};
  write_floats(root, "w1", d1, w.w1);
  write_floats(root, "w2", d2, w.w2);
  write_floats(root, "w1_grad", d1, g.w1);
  write_floats(root, "w2_grad", d2, g.w2);
  write_ints(root, "placement", {static_cast<hsize_t>(p.gpus), static_cast<hsize_t>(p.slots_per_gpu)}, p.expert_at);
}

}  // namespace micromoe::moe
