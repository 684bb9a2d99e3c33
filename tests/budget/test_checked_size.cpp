// SPDX-License-Identifier: BSD-3-Clause
// CheckedSize: 64-bit sizes whose overflow sticks and fails every limit.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "core/checked_size.hpp"

namespace micromoe {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
/// 2^n (a function: nvcc's front end misparsed `X * (std::int64_t{1} << n)`).
constexpr std::int64_t pow2(int n) { return static_cast<std::int64_t>(1) << n; }

TEST(CheckedSize, MultipliesAndAddsExactlyIn64Bits) {
  // 16 x 2048 x 262144: the weight tensor that wrapped to 0 in 32 bits.
  const CheckedSize n = CheckedSize(16) * 2048 * 262144;
  EXPECT_FALSE(n.overflowed());
  EXPECT_EQ(n.value(), pow2(33));
  EXPECT_EQ((n + 5).value(), pow2(33) + 5);
  EXPECT_TRUE(n.fits(pow2(33)));
  EXPECT_FALSE(n.fits(pow2(33) - 1));
}

TEST(CheckedSize, OverflowSticksThroughLaterArithmetic) {
  const CheckedSize big = CheckedSize(pow2(40)) * CheckedSize(pow2(30));
  EXPECT_TRUE(big.overflowed());
  EXPECT_EQ(big.value(), kMax);
  // Neither multiplying by 0 nor adding brings an overflowed size back to a small number.
  EXPECT_TRUE((big * 0).overflowed());
  EXPECT_TRUE((big + 1).overflowed());
  EXPECT_TRUE((CheckedSize(kMax) + 1).overflowed());
  EXPECT_FALSE(big.fits(kMax));
  EXPECT_TRUE(CheckedSize(kMax) < big);
}

TEST(CheckedSize, NegativeInputsNeverFitALimit) {
  EXPECT_TRUE(CheckedSize(-1).overflowed());
  EXPECT_FALSE(CheckedSize(-1).fits(100));
  EXPECT_FALSE((CheckedSize(-1) * 0).fits(100));
}

TEST(CheckedSize, OrdersAndComparesLikeIntegers) {
  EXPECT_TRUE(CheckedSize(3) < CheckedSize(4));
  EXPECT_FALSE(CheckedSize(4) < CheckedSize(4));
  EXPECT_TRUE(CheckedSize(7) == CheckedSize(7));
  EXPECT_TRUE(CheckedSize::too_large() == CheckedSize::too_large());
  EXPECT_EQ(CheckedSize::too_large().text(), "more than 2^63");
}

TEST(CheckedSize, FormatsBytesInBinaryUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(32 * pow2(30)), "32 GiB");
  EXPECT_EQ(format_bytes(CheckedSize::too_large()), "more than 8 EiB");
}

}  // namespace
}  // namespace micromoe
