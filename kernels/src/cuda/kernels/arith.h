/* hefty's CUDA kernels: types, launch arguments and exact modular arithmetic.
 *
 * One source, two targets. NVRTC compiles it for the GPU (`__CUDACC__`);
 * gcc compiles the same text as C for the host (`HEFTY_HOST`), where
 * `emulate.h` runs every kernel block by block with one thread per block.
 * So each formula and each kernel's indexing is checked against the CPU
 * backend on any machine, and the GPU runs exactly the code that was
 * checked. Kernels therefore loop over their work with block- and
 * grid-strided loops (correct for any block size, 1 included) and never
 * assume a block size.
 *
 * WORD_BITS (64 or 32) picks the word: 64-bit words hold primes below 2^62,
 * 32-bit words primes below 2^31 (the W32 profile). Every function returns
 * a fully reduced residue, which makes results bit-identical to the CPU's.
 */

#ifndef WORD_BITS
#error "define WORD_BITS as 64 or 32"
#endif

typedef unsigned long long u64;
typedef unsigned int u32;

#if WORD_BITS == 64
typedef u64 word;
#elif WORD_BITS == 32
typedef u32 word;
#else
#error "WORD_BITS must be 64 or 32"
#endif

/* Words of a 128-bit fraction. */
#define FRAC_WORDS (128 / WORD_BITS)
/* Per-limb constants a launch can carry (the level of any preset fits). */
#define MAX_LIMBS 128
/* Buffers a launch can list (key-switching digits). */
#define MAX_LIST 16
/* Points of one NTT block in shared memory. */
#define NTT_BLOCK 2048
/* Words of a prime record in a basis table: p, mu, k, n^-1 and its
 * quotient, n^-1·w_inv[1] and its quotient, one spare. */
#define PRIME_RECORD 8

/* The one argument of every kernel, passed by value (no copy to the
 * device before a launch). The Rust side mirrors this layout. */
typedef struct {
    /* Device addresses: 0 the buffer written, 1 and 2 buffers read, 3 a
     * constant table, 4 the basis's prime table, 5 an auxiliary input. */
    u64 buf[6];
    /* Device addresses of a list of buffers (key-switching digits). */
    u64 list[MAX_LIST];
    /* Header: n, limbs, then per-kernel values. */
    u32 h[8];
    /* Per-limb constants: a value and its Shoup quotient. */
    word c[MAX_LIMBS][2];
} KArgs;

#if defined(__CUDACC__)
#define HD static __device__ __forceinline__
#define KERNEL(name) extern "C" __global__ void name(const KArgs a)
#define SHARED __shared__
#define SYNC() __syncthreads()
#else
/* The host emulation: the launch geometry of the block being run. */
typedef struct { u32 x, y, z; } dim3e;
static _Thread_local dim3e blockIdx, threadIdx, blockDim, gridDim;
#define HD static inline
#define KERNEL(name) static void name(const KArgs a)
#define SHARED static _Thread_local
#define SYNC() ((void)0)
#endif

/* The high word of a·b. */
HD word mulhi(word a, word b) {
#if defined(__CUDACC__)
#if WORD_BITS == 64
    return __umul64hi(a, b);
#else
    return __umulhi(a, b);
#endif
#else
#if WORD_BITS == 64
    return (word)(((unsigned __int128)a * b) >> 64);
#else
    return (word)(((u64)a * b) >> 32);
#endif
#endif
}

/* The high 64 bits of a 64 × 64-bit product (fixed-point sums). */
HD u64 mulhi64(u64 a, u64 b) {
#if defined(__CUDACC__)
    return __umul64hi(a, b);
#else
    return (u64)(((unsigned __int128)a * b) >> 64);
#endif
}

/* (a + b) mod p for a, b < p (p below half the word: the sum cannot wrap). */
HD word add_mod(word a, word b, word p) {
    word s = a + b;
    return s >= p ? s - p : s;
}

/* (a - b) mod p for a, b < p. */
HD word sub_mod(word a, word b, word p) {
    return a >= b ? a - b : a + (p - b);
}

/* -a mod p for a < p. */
HD word neg_mod(word a, word p) {
    return a == 0 ? 0 : p - a;
}

/* a·w mod p with w's Shoup quotient wq = floor(w·2^WORD_BITS / p): exact
 * for any word a (the quotient estimate is short by at most one). */
HD word mul_shoup(word a, word w, word wq, word p) {
    word q = mulhi(a, wq);
    word r = a * w - q * p;
    return r >= p ? r - p : r;
}

/* (hi·2^WORD_BITS + lo) mod p for a product below 2^(2k), k = bit length
 * of p, mu = floor(2^(2k) / p): Barrett (HAC 14.42, base 2), the quotient
 * estimate short by at most two. */
HD word reduce_wide(word lo, word hi, word p, word mu, u32 k) {
    u32 s = k - 1;
    word q1 = (lo >> s) | (hi << (WORD_BITS - s));
    word m_lo = q1 * mu;
    word m_hi = mulhi(q1, mu);
    u32 t = k + 1;
    word q3 = t < WORD_BITS ? (m_lo >> t) | (m_hi << (WORD_BITS - t)) : m_hi >> (t - WORD_BITS);
    word qp_lo = q3 * p;
    word qp_hi = mulhi(q3, p);
    word r_lo = lo - qp_lo;
    word r_hi = hi - qp_hi - (lo < qp_lo ? 1 : 0);
    for (int i = 0; i < 2; i++) {
        if (r_hi != 0 || r_lo >= p) {
            r_hi -= r_lo < p ? 1 : 0;
            r_lo -= p;
        }
    }
    return r_lo;
}

/* a·b mod p for a, b < p; pr is a prime record (p, mu, k). */
HD word mul_mod(word a, word b, const word *pr) {
    return reduce_wide(a * b, mulhi(a, b), pr[0], pr[1], (u32)pr[2]);
}

/* A 128-bit fraction at t: FRAC_WORDS little-endian words, as two halves. */
HD void frac_at(const word *t, u64 *f0, u64 *f1) {
#if WORD_BITS == 64
    *f0 = t[0];
    *f1 = t[1];
#else
    *f0 = (u64)t[0] | ((u64)t[1] << 32);
    *f1 = (u64)t[2] | ((u64)t[3] << 32);
#endif
}

/* Σ x_i·f_i / 2^128 for 128-bit fractions f_i, exactly as the CPU's
 * fixed-point accumulator: the fraction in 128 bits, the integer part's
 * low 64 bits (all that its rounding keeps). */
typedef struct {
    u64 f0, f1, int_lo;
} Fixed;

/* acc += x·f / 2^128 with f = f1·2^64 + f0. */
HD void fixed_add_mul(Fixed *acc, u64 x, u64 f0, u64 f1) {
    u64 p0_lo = x * f0, p0_hi = mulhi64(x, f0);
    u64 p1_lo = x * f1, p1_hi = mulhi64(x, f1);
    /* The low 128 bits of x·f, and their carry into bit 128. */
    u64 w1 = p0_hi + p1_lo;
    u64 c1 = w1 < p0_hi;
    u64 s0 = acc->f0 + p0_lo;
    u64 c2 = s0 < p0_lo;
    u64 s1 = acc->f1 + w1;
    u64 c3 = s1 < w1;
    u64 s1c = s1 + c2;
    c3 += s1c < s1;
    acc->f0 = s0;
    acc->f1 = s1c;
    acc->int_lo += p1_hi + c1 + c3;
}

/* The sum rounded to the nearest integer (low 64 bits). */
HD u64 fixed_round(const Fixed *acc) {
    return acc->int_lo + (acc->f1 >> 63);
}

/* Grid-strided loop over the words [0, total) of a one-dimensional grid. */
#define FOR_FLAT(i, total) \
    for (u32 i = blockIdx.x * blockDim.x + threadIdx.x; i < (total); i += gridDim.x * blockDim.x)

/* The prime record of limb `limb` of the basis table at a.buf[4]. */
#define PRIME(limb) ((const word *)a.buf[4] + PRIME_RECORD * (limb))
