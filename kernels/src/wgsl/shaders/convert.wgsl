// Conversions between RNS bases: fast base conversion (ModUp), the exact lift
// of centred residues, and BFV's scale-and-round. Constant tables are
// uploaded once per table id (binding 3); one invocation per output word.

@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
@group(0) @binding(3) var<storage, read> tab: array<u32>;
// Binding 4: scale-and-round's second source (read), ModUp's special-prime
// output (written).
@group(0) @binding(4) var<storage, read_write> aux: array<u32>;

fn tab_prime(at: u32) -> Prime {
    return Prime(tab[at], tab[at + 1u], tab[at + 2u]);
}

// Σ x_i·f_i / 2^128 for 128-bit fractions f_i, exact: the CPU's FixedAcc.
struct Fixed {
    frac: array<u32, 4>,
    int_lo: u32,
    int_hi: u32,
}

// acc += x · f / 2^128, f as four little-endian words at tab[at..at + 4].
fn fixed_add_mul(acc: ptr<function, Fixed>, x: u32, at: u32) {
    var carry = 0u;
    var high = 0u;
    for (var w = 0u; w < 4u; w++) {
        let prod = mul_wide(x, tab[at + w]);
        // word w of x·f is prod.x + the previous word's high part.
        let word = prod.x + high;
        let c = select(0u, 1u, word < prod.x);
        high = prod.y + c;
        let s = (*acc).frac[w] + word;
        let c1 = select(0u, 1u, s < word);
        let s2 = s + carry;
        let c2 = select(0u, 1u, s2 < s);
        (*acc).frac[w] = s2;
        carry = c1 + c2;
    }
    // Word 4 of x·f and the carry out of the fraction are integer.
    let lo = (*acc).int_lo + high;
    let c3 = select(0u, 1u, lo < high);
    let lo2 = lo + carry;
    let c4 = select(0u, 1u, lo2 < lo);
    (*acc).int_lo = lo2;
    (*acc).int_hi = (*acc).int_hi + c3 + c4;
}

// The sum rounded to the nearest integer, as (low, high).
fn fixed_round(acc: Fixed) -> vec2<u32> {
    let half = acc.frac[3] >> 31u;
    let lo = acc.int_lo + half;
    return vec2<u32>(lo, acc.int_hi + select(0u, 1u, lo < half));
}

// Word c of source limbs src[first .. first + F) converted to target prime j
// of T. Table: F records [q, mu, k, hat_inv, quotient], T records [p, mu, k],
// then (j·F + i) pairs [weight, quotient].
fn convert_word(first: u32, sources: u32, targets: u32, j: u32, c: u32) -> u32 {
    let n = args[0];
    let pj = tab_prime(5u * sources + 3u * j);
    let weights = 5u * sources + 3u * targets + 2u * j * sources;
    var sum = 0u;
    for (var i = 0u; i < sources; i++) {
        let r = 5u * i;
        let v = mul_shoup(src[(first + i) * n + c], tab[r + 3u], tab[r + 4u], tab[r]);
        let term = mul_shoup(v, tab[weights + 2u * i], tab[weights + 2u * i + 1u], pj.p);
        sum = add_mod(sum, term, pj.p);
    }
    return sum;
}

// ModUp of one key-switching digit in one pass, nothing staged: limb i of
// out (Q_level, header word 1 = level) is src's limb i where the digit
// [first, first + F) holds it, else the digit converted to prime i; limb k
// of aux (binding 4, header word 4 = special primes) is the digit converted
// to special prime k. Header: n, level, first, F, special primes.
@compute @workgroup_size(256)
fn mod_up(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    let level = args[1];
    let first = args[2];
    let sources = args[3];
    let kp = args[4];
    if (idx >= n * (level + kp)) { return; }
    let limb = idx / n;
    let c = idx % n;
    if (limb >= first && limb < first + sources) {
        out[idx] = src[idx];
        return;
    }
    let j = select(limb - sources, limb, limb < first);
    let x = convert_word(first, sources, level - sources + kp, j, c);
    if (limb < level) {
        out[idx] = x;
    } else {
        aux[idx - level * n] = x;
    }
}

// The exact lift of the centred representative of src (F limbs) to T primes.
// Header: n, T, -, F. Table: F records [q, mu, k, hat_inv, quotient, f0..f3]
// (f = 2^128 / q), T records [b, mu, k, -A mod b, quotient], then (j·F + i)
// pairs [A/q_i mod b_j, quotient].
@compute @workgroup_size(256)
fn exact_lift(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    let targets = args[1];
    if (idx >= n * targets) { return; }
    let sources = args[3];
    let j = idx / n;
    let c = idx % n;
    let rb = 9u * sources + 5u * j;
    let b = tab[rb];
    let weights = 9u * sources + 5u * targets + 2u * j * sources;
    var sum = 0u;
    var v = 0u;
    if (sources == 1u) {
        // One source prime: y = x, and x is negative when above q/2.
        let x = src[c];
        v = select(0u, 1u, x > tab[0] / 2u);
        sum = mul_shoup(x, tab[weights], tab[weights + 1u], b);
    } else {
        var acc = Fixed(array<u32, 4>(0u, 0u, 0u, 0u), 0u, 0u);
        for (var i = 0u; i < sources; i++) {
            let r = 9u * i;
            let y = mul_shoup(src[i * n + c], tab[r + 3u], tab[r + 4u], tab[r]);
            fixed_add_mul(&acc, y, r + 5u);
            let term = mul_shoup(y, tab[weights + 2u * i], tab[weights + 2u * i + 1u], b);
            sum = add_mod(sum, term, b);
        }
        v = fixed_round(acc).x;
    }
    out[idx] = add_mod(sum, mul_shoup(v, tab[rb + 3u], tab[rb + 4u], b), b);
}

// BFV's round(t·e/Q) mod r_j sources e modulo Q_level (src) and R (aux).
// Header: n, T, level, Q. Table: Q records [q, mu, k, theta0..3], T records
// [r, mu, k, c_r, quotient], then (j·Q + i) pairs [omega, quotient].
@compute @workgroup_size(256)
fn scale_round(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    let targets = args[1];
    if (idx >= n * targets) { return; }
    let level = args[2];
    let qs = args[3];
    let j = idx / n;
    let c = idx % n;
    let rr = 7u * qs + 5u * j;
    let rj = tab_prime(rr);
    let weights = 7u * qs + 5u * targets + 2u * j * qs;
    var acc = Fixed(array<u32, 4>(0u, 0u, 0u, 0u), 0u, 0u);
    var sum = 0u;
    for (var i = 0u; i < level; i++) {
        let e = src[i * n + c];
        fixed_add_mul(&acc, e, 7u * i + 3u);
        sum = add_mod(sum, mul_shoup(e, tab[weights + 2u * i], tab[weights + 2u * i + 1u], rj.p), rj.p);
    }
    sum = add_mod(sum, reduce_wide(fixed_round(acc), rj), rj.p);
    out[idx] = add_mod(sum, mul_shoup(aux[j * n + c], tab[rr + 3u], tab[rr + 4u], rj.p), rj.p);
}
