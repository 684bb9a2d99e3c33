// SPDX-License-Identifier: BSD-3-Clause
// Sizes computed from deck values (elements, bytes, rows), in 64 bits, where an overflow cannot
// go unnoticed: a CheckedSize that overflowed stays "too large" through every later + and *, and
// compares larger than any limit. Code that checks a size against a limit therefore refuses an
// overflowed one; nothing can wrap around to a small number, as 32-bit products did.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace micromoe {

class CheckedSize {
 public:
  /// Negative inputs are a caller's bug; they become "too large" so no check can pass them.
  constexpr CheckedSize(std::int64_t n = 0) : value_(n), over_(n < 0) {}  // NOLINT: implicit by design
  static constexpr CheckedSize too_large() {
    CheckedSize s;
    s.over_ = true;
    return s;
  }

  /// True when some step of the computation did not fit in int64.
  constexpr bool overflowed() const { return over_; }
  /// The value; INT64_MAX when it overflowed.
  constexpr std::int64_t value() const { return over_ ? std::numeric_limits<std::int64_t>::max() : value_; }
  /// True when the size is at most `limit` (an overflowed size never is).
  constexpr bool fits(std::int64_t limit) const { return !over_ && value_ <= limit; }

  friend CheckedSize operator*(CheckedSize a, CheckedSize b) {
    if (a.over_ || b.over_) return too_large();
    std::int64_t r = 0;
    if (__builtin_mul_overflow(a.value_, b.value_, &r)) return too_large();
    return CheckedSize(r);
  }
  friend CheckedSize operator+(CheckedSize a, CheckedSize b) {
    if (a.over_ || b.over_) return too_large();
    std::int64_t r = 0;
    if (__builtin_add_overflow(a.value_, b.value_, &r)) return too_large();
    return CheckedSize(r);
  }
  CheckedSize& operator*=(CheckedSize b) { return *this = *this * b; }
  CheckedSize& operator+=(CheckedSize b) { return *this = *this + b; }
  friend constexpr bool operator<(CheckedSize a, CheckedSize b) {
    return a.over_ != b.over_ ? b.over_ : (!a.over_ && a.value_ < b.value_);
  }
  friend constexpr bool operator==(CheckedSize a, CheckedSize b) {
    return a.over_ == b.over_ && (a.over_ || a.value_ == b.value_);
  }

  /// "1234567", or "more than 2^63" when it overflowed.
  std::string text() const { return over_ ? std::string("more than 2^63") : std::to_string(value_); }

 private:
  std::int64_t value_;
  bool over_;
};

/// Bytes as "1.50 GiB" (binary units, three significant digits); "more than 8 EiB" on overflow.
std::string format_bytes(CheckedSize bytes);

}  // namespace micromoe
