// SPDX-License-Identifier: BSD-3-Clause
// The check macros name the failing call, the library's message, and file:line.
#include <gtest/gtest.h>
#include <mpi.h>

#include "core/error.hpp"
#include "core/error_line.hpp"

namespace micromoe {
namespace {

TEST(CheckMacros, MpiFailureNamesTheCallAndTheLocation) {
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  try {
    int rank = 0;
    MICROMOE_CHECK_MPI(MPI_Comm_rank(MPI_COMM_NULL, &rank));
    FAIL() << "an invalid communicator must be reported";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("MPI call failed"), std::string::npos) << what;
    EXPECT_NE(what.find("MPI_Comm_rank(MPI_COMM_NULL"), std::string::npos) << what;
    EXPECT_NE(what.find("test_errors.cpp"), std::string::npos) << what;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

TEST(CheckMacros, Hdf5NegativeReturnIsAnError) {
  EXPECT_THROW(MICROMOE_CHECK_HDF5(-1), Error);
  EXPECT_EQ(MICROMOE_CHECK_HDF5(3), 3);
}

TEST(CheckMacros, RequireCarriesItsMessage) {
  try {
    MICROMOE_REQUIRE(1 + 1 == 3, "arithmetic is broken");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("arithmetic is broken"), std::string::npos);
  }
}

TEST(ErrorLine, EscapesControlCharactersIntoOneLine) {
  EXPECT_EQ(error_line("plain"), "plain");
  EXPECT_EQ(error_line(std::string("a\nb\tc\0d\x1b", 8)), "a\\nb\\tc\\0d\\x1b");
}

TEST(ErrorLine, CutsLongMessagesWithAMarkerWithinTheLimit) {
  const std::string exact(kErrorLineLimit, 'x');
  EXPECT_EQ(error_line(exact), exact);
  for (const std::size_t size : {kErrorLineLimit + 1, std::size_t{1} << 20}) {
    const std::string line = error_line(std::string(size, 'x'));
    EXPECT_LE(line.size(), kErrorLineLimit);
    EXPECT_EQ(line.rfind("x ...["), line.find(" ...[") - 1) << line;
    EXPECT_NE(line.find("more characters]"), std::string::npos) << line;
  }
  // Escapes count towards the limit and are never cut in half.
  const std::string line = error_line(std::string(1000, '\n'), 50);
  EXPECT_LE(line.size(), 50u);
  EXPECT_EQ(line.substr(0, 4), "\\n\\n");
  EXPECT_EQ(line.find(" ...[") % 2, 0u) << line;
}

}  // namespace
}  // namespace micromoe
