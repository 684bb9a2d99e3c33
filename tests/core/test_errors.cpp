// SPDX-License-Identifier: BSD-3-Clause
// The check macros name the failing call, the library's message, and file:line.
#include <gtest/gtest.h>
#include <mpi.h>

#include "core/error.hpp"

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

}  // namespace
}  // namespace micromoe
