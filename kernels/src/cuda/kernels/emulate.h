/* The host emulation of the kernels (compiled by gcc, never by NVRTC): a
 * launch runs every block of its grid in turn with one thread per block,
 * which the kernels' strided loops make equivalent to any block size.
 * Exported names end in _w64 or _w32 (the word size of this copy). */

#include <string.h>

#define EXPORT_PASTE2(name, bits) name##_w##bits
#define EXPORT_PASTE(name, bits) EXPORT_PASTE2(name, bits)
#define EXPORT(name) EXPORT_PASTE(name, WORD_BITS)

typedef void (*kernel_fn)(const KArgs a);

static const struct {
    const char *name;
    kernel_fn run;
} KERNELS[] = {
    {"add", add},
    {"sub", sub},
    {"neg", neg},
    {"mul", mul},
    {"mul_add", mul_add},
    {"sub_scale", sub_scale},
    {"mul_const", mul_const},
    {"add_const", add_const},
    {"mul_const_add", mul_const_add},
    {"key_inner_product", key_inner_product},
    {"tensor", tensor},
    {"ntt_inverse_last", ntt_inverse_last},
    {"ntt_forward_block", ntt_forward_block},
    {"ntt_inverse_block", ntt_inverse_block},
    {"ntt_forward_strided", ntt_forward_strided},
    {"ntt_inverse_strided", ntt_inverse_strided},
    {"automorphism", automorphism},
    {"permute", permute},
    {"monomial", monomial},
    {"monomial_mul_add", monomial_mul_add},
    {"divide_round_by_last", divide_round_by_last},
    {"mod_up", mod_up},
    {"exact_lift", exact_lift},
    {"scale_round", scale_round},
};

/* Runs kernel `name` over a (gx, gy) grid; returns 0, or -1 for an
 * unknown name. */
int EXPORT(hefty_emulate)(const char *name, const KArgs *args, u32 gx, u32 gy) {
    for (unsigned k = 0; k < sizeof KERNELS / sizeof KERNELS[0]; k++) {
        if (strcmp(KERNELS[k].name, name) != 0) continue;
        dim3e one = {1, 1, 1}, zero = {0, 0, 0}, grid = {gx, gy, 1};
        blockDim = one;
        threadIdx = zero;
        gridDim = grid;
        for (u32 y = 0; y < gy; y++) {
            for (u32 x = 0; x < gx; x++) {
                dim3e b = {x, y, 0};
                blockIdx = b;
                KERNELS[k].run(*args);
            }
        }
        return 0;
    }
    return -1;
}

/* The arithmetic, for tests against hefty-ntt. */
word EXPORT(hefty_add_mod)(word a, word b, word p) { return add_mod(a, b, p); }
word EXPORT(hefty_sub_mod)(word a, word b, word p) { return sub_mod(a, b, p); }
word EXPORT(hefty_neg_mod)(word a, word p) { return neg_mod(a, p); }
word EXPORT(hefty_mul_shoup)(word a, word w, word wq, word p) { return mul_shoup(a, w, wq, p); }
word EXPORT(hefty_mul_mod)(word a, word b, word p, word mu, u32 k) {
    word pr[3] = {p, mu, k};
    return mul_mod(a, b, pr);
}

/* round(Σ x_i·f_i / 2^128) (low 64 bits), f_i as (low, high) pairs. */
u64 EXPORT(hefty_fixed_sum)(const u64 *x, const u64 *f, u32 count) {
    Fixed acc = {0, 0, 0};
    for (u32 i = 0; i < count; i++) fixed_add_mul(&acc, x[i], f[2 * i], f[2 * i + 1]);
    return fixed_round(&acc);
}
