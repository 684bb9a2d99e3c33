// SPDX-License-Identifier: BSD-3-Clause
// What kind of file a path names, for the checks on the files a run reads (deck, trace) and
// writes (the report): only regular files are read or replaced. A FIFO would block the open
// forever (SIGTERM cannot end it), a device (/dev/zero) never ends, a directory fails late.
#pragma once

#include <string>

namespace micromoe {

/// Empty when `path` names an existing regular file (symbolic links followed); otherwise why
/// not, e.g. "does not exist", "is a directory", "is a FIFO (named pipe)".
std::string regular_file_problem(const std::string& path);

/// Empty unless `path` exists and is not a regular file (symbolic links followed); then what it
/// is, e.g. "is a FIFO (named pipe), not a regular file". For callers that report a missing
/// file in their own words.
std::string non_regular_file_problem(const std::string& path);

/// Empty when `path` does not exist or names a regular file (a report may be written there);
/// otherwise why not. A dangling symbolic link counts as not existing (it would be replaced).
std::string replaceable_file_problem(const std::string& path);

/// Empty when `path` is a usable file name: not empty and without a NUL character.
std::string file_name_problem(const std::string& path);

}  // namespace micromoe
