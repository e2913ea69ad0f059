// Host stand-in for math_constants.h in the kernel emulator (kernels/emu).
#pragma once
#include <limits>
#define CUDART_INF_F std::numeric_limits<float>::infinity()
