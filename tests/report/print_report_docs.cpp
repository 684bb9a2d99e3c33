// SPDX-License-Identifier: BSD-3-Clause
// Regenerates the tables of docs/report.md from the report schemas (training, emulation,
// simulation), in place:
//   micromoe_report_docs docs/report.md
// (the prose between the generated sections is kept as it is).
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "emulate/emulation_report_schema.hpp"
#include "report/report_docs.hpp"
#include "simulate/simulation_report_schema.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: micromoe_report_docs docs/report.md  (rewrites its generated sections)\n";
    return 2;
  }
  try {
    std::stringstream text;
    {
      std::ifstream in(argv[1]);
      if (!in) throw std::runtime_error(std::string("cannot read ") + argv[1]);
      text << in.rdbuf();
    }
    // The training report's tables, then the emulation and simulation reports'.
    auto sections = micromoe::report::report_doc_sections();
    for (const auto& s : micromoe::emulate::emulation_doc_sections()) sections.push_back(s);
    for (const auto& s : micromoe::simulate::simulation_doc_sections()) sections.push_back(s);
    const std::string filled = micromoe::report::fill_generated_sections(text.str(), sections);
    if (filled != text.str()) {
      std::ofstream out(argv[1]);
      out << filled;
      if (!out) throw std::runtime_error(std::string("cannot write ") + argv[1]);
    }
  } catch (const std::exception& e) {
    std::cerr << "micromoe_report_docs: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
