// SPDX-License-Identifier: BSD-3-Clause
// The name tables (core/enum_names.hpp, core/parse_enum.hpp): every registered choice's names
// are the ones decks, reports and progress lines use, and round-trip value -> name -> value;
// unknown names are InputErrors that list the choices and suggest the nearest one.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "comm/backend.hpp"
#include "core/enum_names.hpp"
#include "core/error.hpp"
#include "core/parse_enum.hpp"
#include "moe/layer_config.hpp"
#include "schedule/placement.hpp"
#include "strategy/strategy_kind.hpp"
#include "workload/workload_kind.hpp"

namespace micromoe {

namespace demo {
enum class Fruit { apple, banana, cherry };
constexpr NameTable<3> name_table(Fruit) { return {"fruit", {"apple", "banana", "cherry"}}; }
enum class Unnamed { a, b };
}  // namespace demo

namespace {

// The facility is constexpr: names and look-ups are available at compile time.
static_assert(has_name_table_v<demo::Fruit>);
static_assert(!has_name_table_v<demo::Unnamed>);
static_assert(!has_name_table_v<int>);
static_assert(enum_count<demo::Fruit>() == 3);
static_assert(enum_what<demo::Fruit>() == "fruit");
static_assert(name_of(demo::Fruit::banana) == "banana");
static_assert(name_of(static_cast<demo::Fruit>(3)) == "?");
static_assert(*lookup_enum<demo::Fruit>("cherry") == demo::Fruit::cherry);
static_assert(!lookup_enum<demo::Fruit>("Cherry").has_value());

/// Runs `f`, expects an InputError, returns its message.
template <class F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (...) {
    ADD_FAILURE() << "not an InputError";
    return {};
  }
  ADD_FAILURE() << "no error";
  return {};
}

TEST(EnumNames, UnknownNameListsTheChoicesAndTheNearest) {
  const std::string what = input_error_of([] { parse_enum<demo::Fruit>("banan"); });
  EXPECT_EQ(what, "unknown fruit \"banan\"; fix: use one of apple, banana, cherry (did you mean \"banana\"?)");
  EXPECT_EQ(parse_enum<demo::Fruit>("apple"), demo::Fruit::apple);
}

// Every registered choice: its names as users write them (a change here changes decks and
// reports), in enum order.
template <class Enum>
struct Registered : ::testing::Test {
  static std::vector<std::string> expected();
};
template <>
std::vector<std::string> Registered<strategy::StrategyKind>::expected() {
  return {"ep", "ep-capacity", "eplb", "microep", "microep-adaptive", "balanced"};
}
template <>
std::vector<std::string> Registered<moe::Activation>::expected() {
  return {"gelu", "silu", "swiglu"};
}
template <>
std::vector<std::string> Registered<moe::Precision>::expected() {
  return {"fp32", "tf32", "bf16"};
}
template <>
std::vector<std::string> Registered<moe::ExpertGemm>::expected() {
  return {"per-expert", "grouped"};
}
template <>
std::vector<std::string> Registered<moe::OptimizerKind>::expected() {
  return {"sgd", "adam"};
}
template <>
std::vector<std::string> Registered<schedule::PlacementKind>::expected() {
  return {"symmetric", "random"};
}
template <>
std::vector<std::string> Registered<workload::WorkloadKind>::expected() {
  return {"synthetic", "trace"};
}
template <>
std::vector<std::string> Registered<comm::Backend>::expected() {
  return {"mpi", "nccl"};
}

using Enums = ::testing::Types<strategy::StrategyKind, moe::Activation, moe::Precision, moe::ExpertGemm,
                               moe::OptimizerKind, schedule::PlacementKind, workload::WorkloadKind, comm::Backend>;
TYPED_TEST_SUITE(Registered, Enums);

TYPED_TEST(Registered, NamesAreTheOnesUsersWrite) {
  EXPECT_EQ(enum_names<TypeParam>(), TestFixture::expected());
  EXPECT_EQ(enum_count<TypeParam>(), TestFixture::expected().size());
  EXPECT_FALSE(enum_what<TypeParam>().empty());
}

TYPED_TEST(Registered, NamesRoundTrip) {
  const auto values = enum_values<TypeParam>();
  ASSERT_EQ(values.size(), enum_count<TypeParam>());
  std::set<std::string> seen;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const TypeParam v = values[i];
    EXPECT_EQ(static_cast<std::size_t>(v), i);
    const std::string name = to_string(v);
    EXPECT_EQ(name, name_of(v));
    EXPECT_TRUE(seen.insert(name).second) << name << " is listed twice";
    EXPECT_EQ(lookup_enum<TypeParam>(name), v) << name;
    EXPECT_EQ(parse_enum<TypeParam>(name), v) << name;
  }
  EXPECT_EQ(name_of(static_cast<TypeParam>(values.size())), "?");
}

TYPED_TEST(Registered, UnknownNamesAreInputErrorsNamingEveryChoiceAndTheNearest) {
  const auto names = enum_names<TypeParam>();
  for (const auto& name : names) {
    const std::string typo = name + "x";  // one edit from `name`, further from every other choice
    EXPECT_FALSE(lookup_enum<TypeParam>(typo).has_value()) << typo;
    const std::string what = input_error_of([&] { parse_enum<TypeParam>(typo); });
    EXPECT_EQ(what.rfind("unknown " + std::string(enum_what<TypeParam>()) + " \"" + typo + "\"", 0), 0u) << what;
    for (const auto& choice : names) EXPECT_NE(what.find(choice), std::string::npos) << what;
    EXPECT_NE(what.find("did you mean \"" + name + "\"?"), std::string::npos) << what;
  }
  EXPECT_THROW(parse_enum<TypeParam>(""), InputError);
}

}  // namespace
}  // namespace micromoe
