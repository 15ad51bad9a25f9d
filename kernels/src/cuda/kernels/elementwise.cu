/* Word-by-word kernels over the first h[1] limbs of n = h[0] words
 * (h[7] = log2 n): buf[0] is written, buf[1] and buf[2] are read, buf[4]
 * is the basis's prime table. h[2] != 0 marks the first term of a sum
 * (the output is overwritten rather than added to). */

#define LOG_N a.h[7]
#define TOTAL (a.h[0] * a.h[1])
#define OUT ((word *)a.buf[0])
#define IN1 ((const word *)a.buf[1])
#define IN2 ((const word *)a.buf[2])

KERNEL(add) {
    FOR_FLAT(i, TOTAL) { OUT[i] = add_mod(OUT[i], IN1[i], PRIME(i >> LOG_N)[0]); }
}

KERNEL(sub) {
    FOR_FLAT(i, TOTAL) { OUT[i] = sub_mod(OUT[i], IN1[i], PRIME(i >> LOG_N)[0]); }
}

KERNEL(neg) {
    FOR_FLAT(i, TOTAL) { OUT[i] = neg_mod(OUT[i], PRIME(i >> LOG_N)[0]); }
}

KERNEL(mul) {
    FOR_FLAT(i, TOTAL) { OUT[i] = mul_mod(OUT[i], IN1[i], PRIME(i >> LOG_N)); }
}

/* out += in1·in2 (out = in1·in2 when h[2] != 0). */
KERNEL(mul_add) {
    FOR_FLAT(i, TOTAL) {
        const word *pr = PRIME(i >> LOG_N);
        word prod = mul_mod(IN1[i], IN2[i], pr);
        OUT[i] = a.h[2] ? prod : add_mod(OUT[i], prod, pr[0]);
    }
}

/* out = (out - in1)·c_limb. */
KERNEL(sub_scale) {
    FOR_FLAT(i, TOTAL) {
        u32 limb = i >> LOG_N;
        word p = PRIME(limb)[0];
        OUT[i] = mul_shoup(sub_mod(OUT[i], IN1[i], p), a.c[limb][0], a.c[limb][1], p);
    }
}

/* out *= c_limb. */
KERNEL(mul_const) {
    FOR_FLAT(i, TOTAL) {
        u32 limb = i >> LOG_N;
        OUT[i] = mul_shoup(OUT[i], a.c[limb][0], a.c[limb][1], PRIME(limb)[0]);
    }
}

/* out += c_limb. */
KERNEL(add_const) {
    FOR_FLAT(i, TOTAL) {
        u32 limb = i >> LOG_N;
        OUT[i] = add_mod(OUT[i], a.c[limb][0], PRIME(limb)[0]);
    }
}

/* out += in1·c_limb (out = in1·c_limb when h[2] != 0). */
KERNEL(mul_const_add) {
    FOR_FLAT(i, TOTAL) {
        u32 limb = i >> LOG_N;
        word p = PRIME(limb)[0];
        word prod = mul_shoup(IN1[i], a.c[limb][0], a.c[limb][1], p);
        OUT[i] = a.h[2] ? prod : add_mod(OUT[i], prod, p);
    }
}

/* The key-switching inner product in one pass: for the h[2] = D digits
 * listed in a.list (digit j's extension at list[j], its key parts at
 * list[D + j] and list[2D + j]), out_b = buf[0] = Σ ext_j·key_b_j and
 * out_a = buf[1] = Σ ext_j·key_a_j, added to the outputs when h[3] != 0
 * (more digits than one launch lists). Each digit word is read once. */
KERNEL(key_inner_product) {
    u32 d = a.h[2];
    FOR_FLAT(i, TOTAL) {
        const word *pr = PRIME(i >> LOG_N);
        word sb = a.h[3] ? OUT[i] : 0;
        word sa = a.h[3] ? ((word *)a.buf[1])[i] : 0;
        for (u32 j = 0; j < d; j++) {
            word x = ((const word *)a.list[j])[i];
            sb = add_mod(sb, mul_mod(x, ((const word *)a.list[d + j])[i], pr), pr[0]);
            sa = add_mod(sa, mul_mod(x, ((const word *)a.list[2 * d + j])[i], pr), pr[0]);
        }
        OUT[i] = sb;
        ((word *)a.buf[1])[i] = sa;
    }
}

/* The tensor of two ciphertexts in one pass, each operand word read once:
 * list = a0, a1, b0, b1; buf[0], buf[1], buf[2] = d0 = a0·b0,
 * d1 = a0·b1 + a1·b0, d2 = a1·b1. */
KERNEL(tensor) {
    FOR_FLAT(i, TOTAL) {
        const word *pr = PRIME(i >> LOG_N);
        word a0 = ((const word *)a.list[0])[i], a1 = ((const word *)a.list[1])[i];
        word b0 = ((const word *)a.list[2])[i], b1 = ((const word *)a.list[3])[i];
        OUT[i] = mul_mod(a0, b0, pr);
        ((word *)a.buf[1])[i] = add_mod(mul_mod(a0, b1, pr), mul_mod(a1, b0, pr), pr[0]);
        ((word *)a.buf[2])[i] = mul_mod(a1, b1, pr);
    }
}
