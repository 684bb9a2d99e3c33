// SPDX-License-Identifier: BSD-3-Clause
// The verification dump holds the documented datasets, and they describe the layer exactly:
// the serial reference run on the dumped inputs and weights reproduces the dumped outputs and
// gradients.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "moe/dump.hpp"
#include "moe_harness.hpp"
#include "report/hdf5_handles.hpp"

namespace micromoe::moe::testing {
namespace {

std::vector<float> as_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

TEST(Dump, DatasetsReproduceTheLayer) {
  Case c;
  c.strategy = StrategyKind::microep;
  c.skew = true;
  const int G = ranks(), r = rank(), H = c.hidden;
  const Data d = make_data(c, G);
  const LayerConfig cfg = config_of(c);
  comm::Communicator world(MPI_COMM_WORLD);
  MoELayer layer(cfg, world);
  const ExecSpace exec;
  layer.set_parameters(exec, d.params);
  const auto x = to_device(slice(d.x, d.first[r], d.count[r], H), d.count[r], H);
  const auto dy = to_device(slice(d.dy, d.first[r], d.count[r], H), d.count[r], H);
  const auto y = layer.forward(exec, x);
  const auto dx = layer.backward(exec, dy);
  const std::string path = "test_moe_dump_np" + std::to_string(G) + ".h5";
  write_layer_dump(exec, layer, path, x, y, dy, dx, DumpInfo{3, 10, 0});
  MPI_Barrier(MPI_COMM_WORLD);
  if (r != 0) return;

  namespace h5 = report::h5;
  auto file = h5::open_file_readonly(path);
  const hid_t root = file.id();
  EXPECT_EQ(h5::read_string_attribute(root, "format"), layer_dump_format);
  EXPECT_EQ(h5::read_int_attribute(root, "format_version"), layer_dump_version);
  EXPECT_EQ(h5::read_int_attribute(root, "layer"), 3);
  std::vector<hsize_t> dims;
  const auto xs = as_float(h5::read_dataset<double>(root, "x", &dims));
  ASSERT_EQ(dims.size(), 2u);
  EXPECT_EQ(static_cast<std::int64_t>(dims[0]), d.total);
  EXPECT_TRUE(same_bits(xs, d.x));
  ReferenceMoE ref(cfg);
  ref.params.gate = as_float(h5::read_dataset<double>(root, "gate_weight"));
  ref.params.w1 = as_float(h5::read_dataset<double>(root, "w1"));
  ref.params.w2 = as_float(h5::read_dataset<double>(root, "w2"));
  const auto ry = ref.forward(xs, d.total);
  const auto rdx = ref.backward(as_float(h5::read_dataset<double>(root, "dy")));
  EXPECT_LE(rel_error(as_float(h5::read_dataset<double>(root, "y")), ry), kTolerance);
  EXPECT_LE(rel_error(as_float(h5::read_dataset<double>(root, "dx")), rdx), kTolerance);
  const HostTensors g = ref.gradients();
  EXPECT_LE(rel_error(as_float(h5::read_dataset<double>(root, "gate_weight_grad")), g.gate), kTolerance);
  EXPECT_LE(rel_error(as_float(h5::read_dataset<double>(root, "w1_grad")), g.w1), kTolerance);
  EXPECT_LE(rel_error(as_float(h5::read_dataset<double>(root, "w2_grad")), g.w2), kTolerance);
  const auto choices = h5::read_dataset<std::int64_t>(root, "choices");
  EXPECT_EQ(std::vector<int>(choices.begin(), choices.end()), ref.choices());
  EXPECT_EQ(h5::read_dataset<std::int64_t>(root, "kept").size(), static_cast<std::size_t>(d.total * c.top_k));
  EXPECT_EQ(h5::read_dataset<std::int64_t>(root, "placement").size(),
            static_cast<std::size_t>(layer.placement().gpus * layer.placement().slots_per_gpu));
  file.reset();
  if (!std::getenv("MICROMOE_KEEP_DUMP")) std::remove(path.c_str());
}

}  // namespace
}  // namespace micromoe::moe::testing
