// SPDX-License-Identifier: BSD-3-Clause
#include "core/file_kind.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace micromoe {

namespace {

std::string non_regular_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory";
  if (S_ISFIFO(mode)) return "is a FIFO (named pipe), not a regular file";
  if (S_ISCHR(mode)) return "is a character device, not a regular file";
  if (S_ISBLK(mode)) return "is a block device, not a regular file";
  if (S_ISSOCK(mode)) return "is a socket, not a regular file";
  return "is not a regular file";
}

}  // namespace

std::string file_name_problem(const std::string& path) {
  if (path.empty()) return "the file name is empty";
  if (path.find('\0') != std::string::npos) return "the file name contains a NUL character";
  return {};
}

std::string regular_file_problem(const std::string& path) {
  if (auto problem = file_name_problem(path); !problem.empty()) return problem;
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::strerror(errno);
  return S_ISREG(info.st_mode) ? std::string() : non_regular_kind(info.st_mode);
}

std::string non_regular_file_problem(const std::string& path) {
  struct stat info {};
  if (path.find('\0') != std::string::npos || ::stat(path.c_str(), &info) != 0 || S_ISREG(info.st_mode)) return {};
  return non_regular_kind(info.st_mode);
}

std::string replaceable_file_problem(const std::string& path) {
  if (auto problem = file_name_problem(path); !problem.empty()) return problem;
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return errno == ENOENT ? std::string() : std::strerror(errno);
  return S_ISREG(info.st_mode) ? std::string() : non_regular_kind(info.st_mode);
}

}  // namespace micromoe
