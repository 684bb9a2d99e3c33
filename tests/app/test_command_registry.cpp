// SPDX-License-Identifier: BSD-3-Clause
// The command registry: every command of MICROMOE_COMMANDS declares itself on the command line
// in the registry's order, and a parsed command line chooses exactly the command it names
// (--version ahead of any subcommand given with it).
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "commands/command.hpp"

namespace micromoe::commands {
namespace {

/// The index of every chosen command after parsing `args` (argv[0] first).
std::vector<int> chosen_after(std::vector<std::string> args) {
  CLI::App cli{"test"};
  cli.require_subcommand(0, 1);
  const auto all = all_commands();
  for (const auto& c : all) c->declare(cli);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  cli.parse(static_cast<int>(argv.size()), argv.data());
  std::vector<int> chosen;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i]->chosen()) chosen.push_back(static_cast<int>(i));
  return chosen;
}

class Registry : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream("registry_deck.toml") << "[model]\nhidden = 8\n"; }
  void TearDown() override { std::remove("registry_deck.toml"); }
};

TEST_F(Registry, EveryCommandDeclaresItselfInOrder) {
  CLI::App cli{"test"};
  const auto all = all_commands();
  ASSERT_EQ(all.size(), 7u);
  for (const auto& c : all) c->declare(cli);
  const std::string help = cli.help();
  std::size_t at = help.find("--version");
  ASSERT_NE(at, std::string::npos) << help;
  for (const char* name : {"run", "check", "emulate", "calibrate", "simulate", "schedule"}) {
    ASSERT_EQ(cli.get_subcommand(name)->get_name(), name);
    const auto next = help.find(std::string("  ") + name + " ", at);
    ASSERT_NE(next, std::string::npos) << name << " missing or out of order in:\n" << help;
    at = next;
  }
}

TEST_F(Registry, ACommandLineChoosesExactlyItsCommand) {
  EXPECT_EQ(chosen_after({"micromoe", "--version"}), std::vector<int>{0});
  EXPECT_EQ(chosen_after({"micromoe", "run", "registry_deck.toml", "training.iterations=2"}), std::vector<int>{1});
  EXPECT_EQ(chosen_after({"micromoe", "check", "registry_deck.toml", "--ranks", "4"}), std::vector<int>{2});
  EXPECT_EQ(chosen_after({"micromoe", "emulate", "registry_deck.toml", "--ranks", "8"}), std::vector<int>{3});
  EXPECT_EQ(chosen_after({"micromoe", "calibrate", "registry_deck.toml", "--out", "c.h5"}), std::vector<int>{4});
  EXPECT_EQ(chosen_after({"micromoe", "simulate", "registry_deck.toml", "--gpus", "64"}), std::vector<int>{5});
  EXPECT_EQ(chosen_after({"micromoe", "schedule", "--input", "-", "--format", "table"}), std::vector<int>{6});
  EXPECT_TRUE(chosen_after({"micromoe"}).empty());
  // --version with a subcommand: both parsed; main dispatches the first chosen, --version.
  EXPECT_EQ(chosen_after({"micromoe", "--version", "check", "registry_deck.toml"}), (std::vector<int>{0, 2}));
}

TEST_F(Registry, EachCommandRejectsWhatIsNotItsOwn) {
  EXPECT_THROW(chosen_after({"micromoe", "check", "registry_deck.toml", "--input", "x.json"}), CLI::ParseError);
  EXPECT_THROW(chosen_after({"micromoe", "schedule", "--input", "-", "--ranks", "4"}), CLI::ParseError);
  EXPECT_THROW(chosen_after({"micromoe", "emulate", "registry_deck.toml"}), CLI::ParseError) << "--ranks is required";
  EXPECT_THROW(chosen_after({"micromoe", "simulate", "registry_deck.toml"}), CLI::ParseError) << "--gpus is required";
  EXPECT_THROW(chosen_after({"micromoe", "calibrate", "registry_deck.toml", "--ranks", "4"}), CLI::ParseError);
  EXPECT_THROW(chosen_after({"micromoe", "run", "no_such_deck.toml"}), CLI::ParseError);
  EXPECT_THROW(chosen_after({"micromoe", "frobnicate"}), CLI::ParseError);
}

TEST_F(Registry, OnlyScheduleRunsWithoutMpiAndKokkos) {
  const auto all = all_commands();
#define MICROMOE_COMMAND_NAME(name) #name,
  const std::vector<std::string> names = {MICROMOE_COMMANDS(MICROMOE_COMMAND_NAME)};
#undef MICROMOE_COMMAND_NAME
  ASSERT_EQ(names.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i]->needs_runtime(), names[i] != "schedule") << "command " << names[i];
  // This test process never starts MPI or Kokkos: schedule runs here entirely (a missing input
  // file is its input error, exit 2); every other command is left to main's runtime (-1).
  const auto free_run = [](std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return run_if_runtime_free(static_cast<int>(argv.size()), argv.data());
  };
  EXPECT_EQ(free_run({"micromoe", "schedule", "--input", "no_such_input.json"}), kInputErrorExit);
  EXPECT_EQ(free_run({"micromoe", "schedule", "--input", "x.json", "--ranks", "4"}), kInputErrorExit);
  EXPECT_EQ(free_run({"micromoe", "run", "registry_deck.toml"}), -1);
  EXPECT_EQ(free_run({"micromoe", "check", "registry_deck.toml"}), -1);
  EXPECT_EQ(free_run({"micromoe", "--version"}), -1);
  EXPECT_EQ(free_run({"micromoe"}), -1);
  // Under a launcher with several ranks schedule takes the runtime path (rank 0 prints once).
  setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
  EXPECT_EQ(free_run({"micromoe", "schedule", "--input", "no_such_input.json"}), -1);
  unsetenv("OMPI_COMM_WORLD_SIZE");
}

}  // namespace
}  // namespace micromoe::commands
