#
# SPDX-License-Identifier: BSD-3-Clause
#
# Test fixture: the FVP platform configuration of a TF-RMM checkout.
#
set(RMM_PLATFORM "fvp" CACHE STRING "platform")
set(RMM_MAX_SIZE 0x01000000 CACHE STRING "maximum size of the RMM image")
