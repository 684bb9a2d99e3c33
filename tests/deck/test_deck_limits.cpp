// SPDX-License-Identifier: BSD-3-Clause
// Deck input that toml++ 3.3 must never see, and the size limits (deck/deck_limits.hpp): each
// is refused as one bounded InputError line, for every member of its class (any position, any
// key), while the same bytes inside strings and comments stay allowed.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/error_line.hpp"
#include "deck/deck.hpp"
#include "deck/deck_limits.hpp"
#include "deck/toml_guard.hpp"
#include "deck_test_util.hpp"

namespace micromoe::deck {
namespace {

using testing::expect_input_error;

RunConfig parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parse_deck_text(text, "t.toml", overrides);
}

/// Runs `f`, expects an InputError of at most kErrorLineLimit bytes on one line.
void expect_bounded_error(const std::function<void()>& f, const std::string& piece) {
  try {
    f();
    ADD_FAILURE() << "expected an InputError containing \"" << piece << "\"";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(piece), std::string::npos) << what;
    EXPECT_LE(what.size(), kErrorLineLimit) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(DeckLimits, NonAsciiOutsideStringsAndCommentsIsRefusedEverywhere) {
  // Every 2-byte UTF-8 lead byte and a 3-byte one, as a bare value, key and section.
  for (const std::string ch : {"\xc2\xa1", "\xc8\x92", "\xd2\x99", "\xe3\x80\x81", "\xef\xbb\xbe", "\xff"}) {
    expect_bounded_error([&] { parse("[model]\nhidden = " + ch + "\n"); }, "non-ASCII character outside a string");
    expect_bounded_error([&] { parse("[model]\n" + ch + " = 1\n"); }, "non-ASCII character outside a string");
    expect_bounded_error([&] { parse("[model]\n[" + ch + "]\n"); }, "not valid TOML");  // no key after '['
    expect_bounded_error([&] { parse("[model." + ch + "]\n"); }, "non-ASCII character outside a string");
    expect_bounded_error([&] { parse("", {"model.activation=" + ch}); }, "override");
  }
}

TEST(DeckLimits, NonAsciiInStringsAndCommentsIsKept) {
  const RunConfig c = parse(
      "[run] # r\xc3\xa9sum\xc3\xa9\n"
      "report = \"caf\xc3\xa9/\xc8\x92.h5\" # \xc8\x92\n"
      "[workload]\n"
      "trace_file = '''\xc8\x92'''\n");
  EXPECT_EQ(c.run.report, "caf\xc3\xa9/\xc8\x92.h5");
  EXPECT_EQ(c.workload.trace_file, "\xc8\x92");
  EXPECT_EQ(parse("", {"run.report=caf\xc3\xa9.h5"}).run.report, "caf\xc3\xa9.h5");
}

TEST(DeckLimits, StringsMustBeUtf8) {
  for (const std::string bad : {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xe3\x80"}) {
    expect_bounded_error([&] { parse("", {"run.report=" + bad}); }, "not valid UTF-8");
    expect_bounded_error([&] { parse("", {"run.strategies=ep," + bad}); }, "not valid UTF-8");
  }
}

TEST(DeckLimits, DeepDottedKeysAndHeadersAreRefusedBeforeToml) {
  std::string dotted = "a";
  for (std::size_t i = 0; i <= kMaxTomlDots; ++i) dotted += ".a";
  expect_bounded_error([&] { parse("[" + dotted + "]\n"); }, "'.' outside strings");
  expect_bounded_error([&] { parse("[model]\n" + dotted + " = 1\n"); }, "'.' outside strings");
  expect_bounded_error([&] { parse("x = {" + dotted + " = 1}\n"); }, "'.' outside strings");
  // Dots inside strings and comments do not count.
  const std::string dots(2 * kMaxTomlDots, '.');
  EXPECT_EQ(parse("[run] # " + dots + "\nreport = \"" + dots + "\"\n").run.report, dots);
  std::string nested(kMaxTomlNesting + 1, '[');
  expect_bounded_error([&] { parse("[model]\nhidden = " + nested + "\n"); }, "nested more than");
}

TEST(DeckLimits, TableHeaderWithoutKeyIsRefusedBeforeToml) {
  for (const std::string header : {"[)]", "[[)]]", "[ !]", "[[\n", "[ \t=]", "[.a]"})
    expect_bounded_error([&] { parse(header + "\n"); }, "line 1");
  EXPECT_EQ(parse("[ \"model\" ]\nhidden = 8\n").model.hidden, 8);
}

TEST(DeckLimits, SizesAreCheckedBeforeParsing) {
  expect_bounded_error([&] { parse(std::string(kMaxDeckBytes + 1, '#')); }, "more than a deck may have");
  expect_bounded_error([&] { parse("[run]\nreport = \"" + std::string(kMaxStringBytes + 1, 'r') + "\"\n"); },
                       "a string of 4097 bytes");
  std::string list = "[run]\nstrategies = [";
  for (std::size_t i = 0; i <= kMaxListItems; ++i) list += "\"ep\", ";
  expect_bounded_error([&] { parse(list + "]\n"); }, "a list of 65 items");
  expect_bounded_error([&] { parse("", {"run.report=" + std::string(kMaxOverrideBytes, 'r')}); },
                       "more than an override may have");
}

TEST(DeckLimits, AHugeDeckFileIsNotReadWhole) {
  const std::string path = ::testing::TempDir() + "micromoe_huge_deck.toml";
  {
    std::ofstream out(path, std::ios::binary);
    out << "[model]\n";
    const std::string comment = "# " + std::string(1 << 16, 'x') + "\n";
    for (std::size_t written = 0; written <= kMaxDeckBytes; written += comment.size()) out << comment;
  }
  expect_bounded_error([&] { parse_deck(path); }, "more than a deck may have");
  std::remove(path.c_str());
}

TEST(DeckLimits, EveryMessageIsOneBoundedLineWhateverItEchoes) {
  const std::string long_name(3000, 'k');  // under the string limit, far over the line bound
  expect_bounded_error([&] { parse("[model]\n" + long_name + " = 1\n"); }, "unknown key");
  expect_bounded_error([&] { parse("", {"model." + long_name + "=1"}); }, "unknown key");
  expect_bounded_error([&] { parse("[model]\nactivation = \"" + long_name + "\"\n"); }, "is not one of");
  expect_bounded_error([&] { parse("[model]\nhidden = t\nrue\n"); }, "not valid TOML");
}

TEST(DeckLimits, DivisorHintsAreQuickForAnyRankCount) {
  RunConfig c = parse("[parallel]\nep_size = 8\n");
  // 2^31 - 1 is prime: the hint lists its two divisors without trying every number below it.
  expect_input_error([&] { resolve_layout(c, 2147483647); }, {"set ep_size to one of 1, 2147483647,"});
  expect_input_error([&] { resolve_layout(c, 36); }, {"set ep_size to one of 1, 2, 3, 4, 6, 9, 12, 18, 36,"});
}

TEST(TomlGuard, ReportsLineAndColumn) {
  const auto verdict = toml_guard("a = 1\nb = \"x\" \xc8\x92\n");
  EXPECT_EQ(verdict.line, 2u);
  EXPECT_EQ(verdict.column, 9u);
  EXPECT_TRUE(toml_guard("s = \"\"\"\n\xc8\x92\"\"\"\"\"\nt = '\xc8\x92'\n").problem.empty());
  EXPECT_TRUE(toml_guard("s = \"\\\"\xc8\x92\"\n").problem.empty());  // an escaped quote does not end the string
}

TEST(TomlGuard, NonAsciiAfterABackslashInAMultiLineStringIsRefused) {
  // toml++ tests what follows a backslash in a multi-line basic string, and what a line-ending
  // backslash skips, for whitespace: undefined on many non-ASCII code points
  // (fuzz/regressions/deck_text/multi-line-string-backslash-non-ascii.toml: three quotes, a backslash,
  // U+024E).
  EXPECT_FALSE(toml_guard("s = \"\"\"\\\xc9\x8e\"\"\"\n").problem.empty());
  EXPECT_FALSE(toml_guard("s = \"\"\"a\\\n  \n \xc3\xa9\"\"\"\n").problem.empty());
  EXPECT_FALSE(toml_guard("s = \"\"\"a\\  \xc3\xa9\"\"\"\n").problem.empty());
  expect_bounded_error([&] { parse("[run]\nreport = \"\"\"\\\xc9\x8e\"\"\"\n"); }, "backslash");
  // An escape, or a line-ending backslash followed by ASCII, keeps non-ASCII text allowed.
  EXPECT_TRUE(toml_guard("s = \"\"\"\\n\xc3\xa9\"\"\"\n").problem.empty());
  EXPECT_TRUE(toml_guard("s = \"\"\"a\\\n  b\xc3\xa9\"\"\"\n").problem.empty());
  EXPECT_EQ(parse("[run]\nreport = \"\"\"a\\\n  b\xc3\xa9.h5\"\"\"\n").run.report, "ab\xc3\xa9.h5");
}

TEST(TomlGuard, AQuoteOpensAStringOnlyWhereAKeyOrValueMayStart) {
  // toml++ reads 9"... as one bad value token and tests each character for whitespace, which
  // reaches __builtin_unreachable on many non-ASCII code points (fuzz/regressions/deck_overrides/).
  EXPECT_FALSE(toml_guard("value = 9\"\xef\xba\xbf").problem.empty());
  EXPECT_FALSE(toml_guard("value = 0=\"\xc4\xa2").problem.empty());
  EXPECT_FALSE(toml_guard("x = [\n1\"\xc3\xa9\"]\n").problem.empty());
  EXPECT_FALSE(toml_guard("t = { k = 1\"\xc3\xa9\" }\n").problem.empty());
  // Where keys and values start, quoted non-ASCII stays allowed.
  EXPECT_TRUE(toml_guard("value = \"\xc3\xa9\"\n").problem.empty());
  EXPECT_TRUE(
      toml_guard("a = [\"\xc3\xa9\", '\xc3\xa9']\n\"k\xc3\xa9\" = 1\nt = { \"k\" = \"\xc3\xa9\" }\n").problem.empty());
  EXPECT_TRUE(toml_guard("a.\"b\xc3\xa9\" = 1\n[\"s\xc3\xa9\"]\nx = [\n  \"\xc3\xa9\",\n]\n").problem.empty());
  EXPECT_TRUE(toml_guard("[[a.\"\xc3\xa9\"]]\nb = [1, \"\xc3\xa9\", { c = \"\xc3\xa9\" }]\n").problem.empty());
}

}  // namespace
}  // namespace micromoe::deck
