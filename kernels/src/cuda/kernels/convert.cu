/* Conversions between RNS bases: fast base conversion (ModUp), the exact
 * lift of centred residues, and BFV's scale-and-round. The constant table
 * (buf[3]) is uploaded once per table id; buf[1] is the source, buf[5] an
 * auxiliary source; one thread per output word. Header: n, T (target
 * primes), then per kernel. */

#define TAB ((const word *)a.buf[3])

/* Word c of source limbs [first, first + F) converted to target prime j.
 * Table: F records [q, mu, k, hat_inv, quotient], T records [p, mu, k],
 * then (j·F + i) pairs [weight, quotient]. */
HD word convert_word(const KArgs a, const word *src, u32 first, u32 sources, u32 targets, u32 j, u32 c) {
    u32 n = a.h[0];
    word pj = TAB[5 * sources + 3 * j];
    const word *w = TAB + 5 * sources + 3 * targets + 2 * (u64)j * sources;
    word sum = 0;
    for (u32 i = 0; i < sources; i++) {
        const word *r = TAB + 5 * i;
        word v = mul_shoup(src[(u64)(first + i) * n + c], r[3], r[4], r[0]);
        sum = add_mod(sum, mul_shoup(v, w[2 * i], w[2 * i + 1], pj), pj);
    }
    return sum;
}

/* ModUp of one key-switching digit in one pass, nothing staged: limb i of
 * out_q (buf[0], h[1] = level limbs) is source limb i where the digit
 * [h[2], h[2] + F) holds it, else the digit converted to prime i; limb k of
 * out_p (buf[2], h[4] special primes) is the digit converted to special
 * prime k. The table's targets: Q_level's other primes in order, then the
 * special primes (a base_convert table). */
KERNEL(mod_up) {
    u32 n = a.h[0], level = a.h[1], first = a.h[2], sources = a.h[3], kp = a.h[4];
    u32 targets = level - sources + kp;
    FOR_FLAT(idx, n * (level + kp)) {
        u32 limb = idx >> LOG_N, c = idx & (n - 1);
        if (limb >= first && limb < first + sources) {
            OUT[idx] = SRC[idx];
            continue;
        }
        u32 j = limb < first ? limb : limb - sources;
        word x = convert_word(a, SRC, first, sources, targets, j, c);
        if (limb < level) {
            OUT[idx] = x;
        } else {
            ((word *)a.buf[2])[idx - level * n] = x;
        }
    }
}

/* The exact lift of the centred representative of src (F = h[3] limbs) to
 * T primes. Table: F records [q, mu, k, hat_inv, quotient, f] (f = 2^128 /
 * q in FRAC_WORDS words), T records [b, mu, k, -A mod b, quotient], then
 * (j·F + i) pairs [A/q_i mod b_j, quotient]. */
KERNEL(exact_lift) {
    u32 n = a.h[0], targets = a.h[1], sources = a.h[3];
    u32 rec = 5 + FRAC_WORDS;
    FOR_FLAT(idx, n * targets) {
        u32 j = idx >> LOG_N, c = idx & (n - 1);
        const word *rb = TAB + rec * sources + 5 * j;
        word b = rb[0];
        const word *w = TAB + rec * sources + 5 * targets + 2 * (u64)j * sources;
        word sum = 0, v = 0;
        if (sources == 1) {
            /* One source prime: y = x, negative when above q/2. */
            word x = SRC[c];
            v = x > TAB[0] / 2 ? 1 : 0;
            sum = mul_shoup(x, w[0], w[1], b);
        } else {
            Fixed acc = {0, 0, 0};
            for (u32 i = 0; i < sources; i++) {
                const word *r = TAB + rec * i;
                word y = mul_shoup(SRC[(u64)i * n + c], r[3], r[4], r[0]);
                u64 f0, f1;
                frac_at(r + 5, &f0, &f1);
                fixed_add_mul(&acc, y, f0, f1);
                sum = add_mod(sum, mul_shoup(y, w[2 * i], w[2 * i + 1], b), b);
            }
            v = (word)fixed_round(&acc);
        }
        OUT[idx] = add_mod(sum, mul_shoup(v, rb[3], rb[4], b), b);
    }
}

/* BFV's round(t·e/Q) mod r_j from e modulo Q_level (src, h[2] = level
 * limbs) and R (aux). h[3] = Q's prime count. Table: Q records [q, mu, k,
 * theta] (theta in FRAC_WORDS words), T records [r, mu, k, c_r, quotient],
 * then (j·Q + i) pairs [omega, quotient]. */
KERNEL(scale_round) {
    u32 n = a.h[0], targets = a.h[1], level = a.h[2], qs = a.h[3];
    u32 rec = 3 + FRAC_WORDS;
    const word *aux = (const word *)a.buf[5];
    FOR_FLAT(idx, n * targets) {
        u32 j = idx >> LOG_N, c = idx & (n - 1);
        const word *rr = TAB + rec * qs + 5 * j;
        word rj = rr[0];
        const word *w = TAB + rec * qs + 5 * targets + 2 * (u64)j * qs;
        Fixed acc = {0, 0, 0};
        word sum = 0;
        for (u32 i = 0; i < level; i++) {
            word e = SRC[(u64)i * n + c];
            u64 f0, f1;
            frac_at(TAB + rec * i + 3, &f0, &f1);
            fixed_add_mul(&acc, e, f0, f1);
            sum = add_mod(sum, mul_shoup(e, w[2 * i], w[2 * i + 1], rj), rj);
        }
        sum = add_mod(sum, (word)(fixed_round(&acc) % rj), rj);
        OUT[idx] = add_mod(sum, mul_shoup(aux[(u64)j * n + c], rr[3], rr[4], rj), rj);
    }
}
