/* The kernels compiled for the host with 64-bit words (see arith.h). */
#define WORD_BITS 64
#include "arith.h"
#include "elementwise.cu"
#include "ntt.cu"
#include "shuffle.cu"
#include "convert.cu"
#include "emulate.h"
