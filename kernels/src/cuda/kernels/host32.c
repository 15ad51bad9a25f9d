/* The kernels compiled for the host with 32-bit words (see arith.h). */
#define WORD_BITS 32
#include "arith.h"
#include "elementwise.cu"
#include "ntt.cu"
#include "shuffle.cu"
#include "convert.cu"
#include "emulate.h"
