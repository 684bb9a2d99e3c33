// SPDX-License-Identifier: BSD-3-Clause
#include "commands/schedule_batch_output.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

#include "report/hdf5_handles.hpp"

namespace micromoe::commands {

namespace {

using nlohmann::json;

json summary_of(const BatchSummary& s, int slots) {
  return {{"micro_batches", s.micro_batches},
          {"slots_per_gpu", slots},
          {"imbalance", {{"mean", s.mean}, {"p90", s.p90}, {"max", s.max}}},
          {"optimum_imbalance", {{"mean", s.optimum_mean}, {"max", s.optimum_max}}},
          {"memory_bound_imbalance", {{"mean", s.memory_bound_mean}, {"max", s.memory_bound_max}}},
          {"replacements", s.replacements},
          {"migrations", s.migrations}};
}

template <class T, class F>
std::vector<T> column(const std::vector<BatchResult>& rs, F field) {
  std::vector<T> v;
  v.reserve(rs.size());
  for (const auto& r : rs) v.push_back(static_cast<T>(field(r)));
  return v;
}

}  // namespace

std::string result_json_line(const char* placement, const BatchResult& r) {
  json o = {{"placement", placement},
            {"iteration", r.iteration},
            {"layer", r.layer},
            {"micro_batch", r.micro_batch},
            {"total_tokens", r.total_tokens},
            {"max_load", r.max_load},
            {"mean_load", r.mean_load()},
            {"imbalance", r.imbalance()},
            {"optimum", r.optimum},
            {"optimum_imbalance", r.optimum_imbalance()},
            {"memory_bound", r.memory_bound},
            {"memory_bound_imbalance", r.memory_bound_imbalance()},
            {"replaced", r.replaced},
            {"migrations", r.migrations},
            {"gpu_load", r.gpu_load}};
  return o.dump();
}

json summary_json(const BatchResults& all) {
  const BatchLayout& l = all.layout;
  json places = json::object();
  for (std::size_t k = 0; k < all.placements.size(); ++k) {
    const char* name = batch_placement_name(all.placements[k]);
    places[name] = summary_of(summarize(name, all.results[k]), all.memory_slots[k]);
  }
  const std::size_t n = all.results.empty() ? 0 : all.results.front().size();
  return {{"micro_batches", n},
          {"gpus", l.gpus},
          {"experts", l.experts},
          {"ep_size", l.ep_size},
          {"gpus_per_node", l.gpus_per_node > 0 ? l.gpus_per_node : l.gpus},
          {"replace_interval", l.replace_interval},
          {"eplb_extra_slots", l.eplb_extra_slots},
          {"seed", l.seed},
          {"placements", std::move(places)}};
}

void write_result_lines(const BatchResults& all, std::ostream& out) {
  const std::size_t n = all.results.empty() ? 0 : all.results.front().size();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < all.placements.size(); ++k)
      out << result_json_line(batch_placement_name(all.placements[k]), all.results[k][i]) << '\n';
}

void write_results_hdf5(const BatchResults& all, const std::string& path) {
  namespace h5 = report::h5;
  const h5::QuietErrors quiet;
  const h5::File file = h5::create_file(path, h5::modern_format_fapl().id());
  const BatchLayout& l = all.layout;
  h5::write_attribute(file.id(), "format", std::string("micromoe schedule --batch"));
  h5::write_attribute(file.id(), "gpus", std::int64_t{l.gpus});
  h5::write_attribute(file.id(), "experts", std::int64_t{l.experts});
  h5::write_attribute(file.id(), "ep_size", std::int64_t{l.ep_size});
  h5::write_attribute(file.id(), "gpus_per_node", std::int64_t{l.gpus_per_node > 0 ? l.gpus_per_node : l.gpus});
  h5::write_attribute(file.id(), "replace_interval", std::int64_t{l.replace_interval});
  h5::write_attribute(file.id(), "eplb_extra_slots", std::int64_t{l.eplb_extra_slots});
  h5::write_attribute(file.id(), "seed", static_cast<std::int64_t>(l.seed));
  std::vector<std::string> names;
  for (auto p : all.placements) names.push_back(batch_placement_name(p));
  h5::write_attribute(file.id(), "placements", names);
  for (std::size_t k = 0; k < all.placements.size(); ++k) {
    const auto& rs = all.results[k];
    const h5::Group g = h5::create_group(file.id(), names[k]);
    const std::vector<hsize_t> n{rs.size()};
    using R = BatchResult;
    h5::write_dataset(g.id(), "iteration", n, column<std::int64_t>(rs, [](const R& r) { return r.iteration; }));
    h5::write_dataset(g.id(), "layer", n, column<std::int64_t>(rs, [](const R& r) { return r.layer; }));
    h5::write_dataset(g.id(), "micro_batch", n, column<std::int64_t>(rs, [](const R& r) { return r.micro_batch; }));
    h5::write_dataset(g.id(), "total_tokens", n, column<std::int64_t>(rs, [](const R& r) { return r.total_tokens; }));
    h5::write_dataset(g.id(), "max_load", n, column<std::int64_t>(rs, [](const R& r) { return r.max_load; }));
    h5::write_dataset(g.id(), "imbalance", n, column<double>(rs, [](const R& r) { return r.imbalance(); }));
    h5::write_dataset(g.id(), "optimum", n, column<std::int64_t>(rs, [](const R& r) { return r.optimum; }));
    h5::write_dataset(g.id(), "optimum_imbalance", n,
                      column<double>(rs, [](const R& r) { return r.optimum_imbalance(); }));
    h5::write_dataset(g.id(), "memory_bound", n, column<double>(rs, [](const R& r) { return r.memory_bound; }));
    h5::write_dataset(g.id(), "memory_bound_imbalance", n,
                      column<double>(rs, [](const R& r) { return r.memory_bound_imbalance(); }));
    h5::write_dataset(g.id(), "replaced", n, column<std::int64_t>(rs, [](const R& r) { return r.replaced ? 1 : 0; }));
    h5::write_dataset(g.id(), "migrations", n, column<std::int64_t>(rs, [](const R& r) { return r.migrations; }));
    std::vector<std::int64_t> loads;
    loads.reserve(rs.size() * static_cast<std::size_t>(l.gpus));
    for (const auto& r : rs) loads.insert(loads.end(), r.gpu_load.begin(), r.gpu_load.end());
    h5::write_dataset(g.id(), "gpu_load", {rs.size(), static_cast<hsize_t>(l.gpus)}, loads);
    const BatchSummary s = summarize(names[k], rs);
    h5::write_attribute(g.id(), "slots_per_gpu", std::int64_t{all.memory_slots[k]});
    h5::write_attribute(g.id(), "imbalance_mean", s.mean);
    h5::write_attribute(g.id(), "imbalance_p90", s.p90);
    h5::write_attribute(g.id(), "imbalance_max", s.max);
    h5::write_attribute(g.id(), "optimum_imbalance_mean", s.optimum_mean);
    h5::write_attribute(g.id(), "optimum_imbalance_max", s.optimum_max);
    h5::write_attribute(g.id(), "memory_bound_imbalance_mean", s.memory_bound_mean);
    h5::write_attribute(g.id(), "memory_bound_imbalance_max", s.memory_bound_max);
    h5::write_attribute(g.id(), "replacements", s.replacements);
    h5::write_attribute(g.id(), "migrations", s.migrations);
  }
}

}  // namespace micromoe::commands
