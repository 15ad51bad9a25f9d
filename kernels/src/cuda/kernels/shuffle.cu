/* Kernels that move coefficients: automorphisms, NTT-form permutations,
 * monomial products, BFV's division by the last prime. buf[0] is the
 * output, buf[1] the source, buf[3] a permutation table (u32 indices). */

#define SRC ((const word *)a.buf[1])

/* out = σ_g(src) in coefficient form; h[3] = g. */
KERNEL(automorphism) {
    u32 n = a.h[0];
    FOR_FLAT(idx, TOTAL) {
        u32 limb = idx >> LOG_N, i = idx & (n - 1);
        /* 2n divides 2^32, so the wrapping product is exact modulo 2n. */
        u32 e = (i * a.h[3]) & (2 * n - 1);
        word x = SRC[idx];
        if (e < n) {
            OUT[(u64)limb * n + e] = x;
        } else {
            OUT[(u64)limb * n + e - n] = neg_mod(x, PRIME(limb)[0]);
        }
    }
}

/* out[k] = src[perm[k]] in every limb (σ_g in NTT form). */
KERNEL(permute) {
    u32 n = a.h[0];
    const u32 *perm = (const u32 *)a.buf[3];
    FOR_FLAT(idx, TOTAL) {
        u32 limb = idx >> LOG_N;
        OUT[idx] = SRC[(u64)limb * n + perm[idx & (n - 1)]];
    }
}

/* Coefficient idx of src·x^k (k < 2n: h[3] = k mod n, h[4] = (k >= n)),
 * before its sign: the source word, and whether it must be negated (it
 * wrapped past x^n an odd number of times). */
HD word shifted(const KArgs a, u32 idx, int *negate) {
    u32 n = a.h[0], shift = a.h[3];
    int wraps = (idx & (n - 1)) < shift;
    *negate = wraps != (a.h[4] != 0);
    return wraps ? SRC[idx + n - shift] : SRC[idx - shift];
}

/* out = src·x^k. */
KERNEL(monomial) {
    FOR_FLAT(idx, TOTAL) {
        int negate;
        word x = shifted(a, idx, &negate);
        OUT[idx] = negate ? neg_mod(x, PRIME(idx >> LOG_N)[0]) : x;
    }
}

/* out += c·x^k·src; c_limb with its quotient. */
KERNEL(monomial_mul_add) {
    FOR_FLAT(idx, TOTAL) {
        u32 limb = idx >> LOG_N;
        word p = PRIME(limb)[0];
        int negate;
        word prod = mul_shoup(shifted(a, idx, &negate), a.c[limb][0], a.c[limb][1], p);
        OUT[idx] = add_mod(OUT[idx], negate ? neg_mod(prod, p) : prod, p);
    }
}

/* out = round(src / q_last) modulo the h[1] other primes (coefficient
 * form); q_last = the prime record after the last output limb; c_limb =
 * q_last^-1 mod q_i with its quotient. */
KERNEL(divide_round_by_last) {
    u32 n = a.h[0], limbs = a.h[1];
    word q_last = PRIME(limbs)[0];
    FOR_FLAT(idx, TOTAL) {
        u32 limb = idx >> LOG_N;
        word p = PRIME(limb)[0];
        word r = SRC[(u64)limbs * n + (idx & (n - 1))];
        /* The centred remainder: r - q_last when r > q_last / 2, mod q_i. */
        word r_mod = sub_mod(r % p, r > q_last / 2 ? q_last % p : 0, p);
        OUT[idx] = mul_shoup(sub_mod(SRC[idx], r_mod, p), a.c[limb][0], a.c[limb][1], p);
    }
}
