// SPDX-License-Identifier: BSD-3-Clause
// Return-code checks for CUDA, cuBLAS and NCCL (only in CUDA builds).
#pragma once

#include "core/build_config.hpp"
#include "core/error.hpp"

#if MICROMOE_ENABLE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>

#define MICROMOE_CHECK_CUDA(expr)                                                                             \
  do {                                                                                                        \
    const cudaError_t micromoe_cuda_rc_ = (expr);                                                             \
    if (micromoe_cuda_rc_ != cudaSuccess)                                                                     \
      ::micromoe::detail::throw_check_failure("CUDA", #expr, cudaGetErrorString(micromoe_cuda_rc_), __FILE__, \
                                              __LINE__);                                                      \
  } while (0)

#define MICROMOE_CHECK_CUBLAS(expr)                                                                                  \
  do {                                                                                                               \
    const cublasStatus_t micromoe_cublas_rc_ = (expr);                                                               \
    if (micromoe_cublas_rc_ != CUBLAS_STATUS_SUCCESS)                                                                \
      ::micromoe::detail::throw_check_failure("cuBLAS", #expr, cublasGetStatusString(micromoe_cublas_rc_), __FILE__, \
                                              __LINE__);                                                             \
  } while (0)
#endif

#if MICROMOE_ENABLE_NCCL
#include <nccl.h>

#define MICROMOE_CHECK_NCCL(expr)                                                                             \
  do {                                                                                                        \
    const ncclResult_t micromoe_nccl_rc_ = (expr);                                                            \
    if (micromoe_nccl_rc_ != ncclSuccess)                                                                     \
      ::micromoe::detail::throw_check_failure("NCCL", #expr, ncclGetErrorString(micromoe_nccl_rc_), __FILE__, \
                                              __LINE__);                                                      \
  } while (0)
#endif
