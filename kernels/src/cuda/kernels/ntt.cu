/* The bit-reversed negacyclic NTT of hefty-ntt over limbs [h[2], h[2] +
 * h[1]) of a polynomial (buf[0]), all limbs in one launch: blockIdx.y is
 * the limb. Twiddles (buf[3]): per limb 4n words — forward w[0..n), their
 * Shoup quotients, inverse w[0..n), their quotients — w[k] = psi^bitrev(k).
 * Header: n, limbs, first limb, m, t, block, stop, log2 n. n <= 2048 runs
 * one block kernel (plus the inverse's last stage); larger n a strided
 * kernel for the eleven widest stages and a block kernel for the rest:
 * two passes over memory. */

#define NTT_A ((word *)a.buf[0])
#define TW(limb, table, k) (((const word *)a.buf[3])[(u64)(limb) * 4 * a.h[0] + (table) * 2 * a.h[0] + (k)])
#define TWQ(limb, table, k) (((const word *)a.buf[3])[(u64)(limb) * 4 * a.h[0] + (table) * 2 * a.h[0] + a.h[0] + (k)])

/* The last inverse stage (m = 1) with the scaling by n^-1 folded in. */
KERNEL(ntt_inverse_last) {
    u32 n = a.h[0], half = n / 2;
    FOR_FLAT(idx, half * a.h[1]) {
        u32 limb = a.h[2] + idx / half;
        u64 x = (u64)limb * n + idx % half;
        const word *pr = PRIME(limb);
        word p = pr[0];
        word u = NTT_A[x], v = NTT_A[x + half];
        NTT_A[x] = mul_shoup(add_mod(u, v, p), pr[3], pr[4], p);
        NTT_A[x + half] = mul_shoup(sub_mod(u, v, p), pr[5], pr[6], p);
    }
}

/* Every forward stage whose span fits one block, in shared memory: one
 * thread block per (block, limb); m and t are the first such stage's. */
KERNEL(ntt_forward_block) {
    SHARED word tile[NTT_BLOCK];
    u32 n = a.h[0], blk = a.h[5];
    u32 limb = a.h[2] + blockIdx.y;
    u64 base = (u64)limb * n + (u64)blockIdx.x * blk;
    word p = PRIME(limb)[0];
    for (u32 i = threadIdx.x; i < blk; i += blockDim.x) tile[i] = NTT_A[base + i];
    SYNC();
    for (u32 m = a.h[3], t = a.h[4]; t > 0; m *= 2, t /= 2) {
        u32 first = blockIdx.x * blk / (2 * t);
        for (u32 b = threadIdx.x; b < blk / 2; b += blockDim.x) {
            u32 g = b / t;
            u32 x = g * 2 * t + b % t;
            word u = tile[x];
            word v = mul_shoup(tile[x + t], TW(limb, 0, m + first + g), TWQ(limb, 0, m + first + g), p);
            tile[x] = add_mod(u, v, p);
            tile[x + t] = sub_mod(u, v, p);
        }
        SYNC();
    }
    for (u32 i = threadIdx.x; i < blk; i += blockDim.x) NTT_A[base + i] = tile[i];
}

/* Every inverse stage whose span fits one block, from t = 1 while t is
 * below h[6] (n/2, or the first stage the strided kernel runs). */
KERNEL(ntt_inverse_block) {
    SHARED word tile[NTT_BLOCK];
    u32 n = a.h[0], blk = a.h[5];
    u32 limb = a.h[2] + blockIdx.y;
    u64 base = (u64)limb * n + (u64)blockIdx.x * blk;
    word p = PRIME(limb)[0];
    for (u32 i = threadIdx.x; i < blk; i += blockDim.x) tile[i] = NTT_A[base + i];
    SYNC();
    for (u32 m = n / 2, t = 1; t < a.h[6] && 2 * t <= blk; m /= 2, t *= 2) {
        u32 first = blockIdx.x * blk / (2 * t);
        for (u32 b = threadIdx.x; b < blk / 2; b += blockDim.x) {
            u32 g = b / t;
            u32 x = g * 2 * t + b % t;
            word u = tile[x], v = tile[x + t];
            tile[x] = add_mod(u, v, p);
            tile[x + t] = mul_shoup(sub_mod(u, v, p), TW(limb, 1, m + first + g), TWQ(limb, 1, m + first + g), p);
        }
        SYNC();
    }
    for (u32 i = threadIdx.x; i < blk; i += blockDim.x) NTT_A[base + i] = tile[i];
}

/* The forward stages of span t >= s = n / NTT_BLOCK (the first eleven):
 * elements j, j + s, j + 2s, … meet only each other in those stages, so
 * one thread block per (j, limb) runs all of them on its strided points. */
KERNEL(ntt_forward_strided) {
    SHARED word tile[NTT_BLOCK];
    u32 n = a.h[0], s = n / NTT_BLOCK;
    u32 limb = a.h[2] + blockIdx.y;
    u64 base = (u64)limb * n + blockIdx.x;
    word p = PRIME(limb)[0];
    for (u32 i = threadIdx.x; i < NTT_BLOCK; i += blockDim.x) tile[i] = NTT_A[base + (u64)i * s];
    SYNC();
    for (u32 m = 1, t = NTT_BLOCK / 2; t > 0; m *= 2, t /= 2) {
        for (u32 b = threadIdx.x; b < NTT_BLOCK / 2; b += blockDim.x) {
            u32 g = b / t;
            u32 x = g * 2 * t + b % t;
            word u = tile[x];
            word v = mul_shoup(tile[x + t], TW(limb, 0, m + g), TWQ(limb, 0, m + g), p);
            tile[x] = add_mod(u, v, p);
            tile[x + t] = sub_mod(u, v, p);
        }
        SYNC();
    }
    for (u32 i = threadIdx.x; i < NTT_BLOCK; i += blockDim.x) NTT_A[base + (u64)i * s] = tile[i];
}

/* The inverse stages of span t >= s (the last eleven), the last one (m = 1)
 * with the scaling by n^-1 folded in. */
KERNEL(ntt_inverse_strided) {
    SHARED word tile[NTT_BLOCK];
    u32 n = a.h[0], s = n / NTT_BLOCK;
    u32 limb = a.h[2] + blockIdx.y;
    u64 base = (u64)limb * n + blockIdx.x;
    const word *pr = PRIME(limb);
    word p = pr[0];
    for (u32 i = threadIdx.x; i < NTT_BLOCK; i += blockDim.x) tile[i] = NTT_A[base + (u64)i * s];
    SYNC();
    for (u32 m = NTT_BLOCK / 2, t = 1; m > 1; m /= 2, t *= 2) {
        for (u32 b = threadIdx.x; b < NTT_BLOCK / 2; b += blockDim.x) {
            u32 g = b / t;
            u32 x = g * 2 * t + b % t;
            word u = tile[x], v = tile[x + t];
            tile[x] = add_mod(u, v, p);
            tile[x + t] = mul_shoup(sub_mod(u, v, p), TW(limb, 1, m + g), TWQ(limb, 1, m + g), p);
        }
        SYNC();
    }
    for (u32 b = threadIdx.x; b < NTT_BLOCK / 2; b += blockDim.x) {
        word u = tile[b], v = tile[b + NTT_BLOCK / 2];
        tile[b] = mul_shoup(add_mod(u, v, p), pr[3], pr[4], p);
        tile[b + NTT_BLOCK / 2] = mul_shoup(sub_mod(u, v, p), pr[5], pr[6], p);
    }
    SYNC();
    for (u32 i = threadIdx.x; i < NTT_BLOCK; i += blockDim.x) NTT_A[base + (u64)i * s] = tile[i];
}
