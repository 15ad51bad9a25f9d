// Exact modular arithmetic on 32-bit words for primes below 2^31 (the W32
// profile): WGSL has no 64-bit integers, so wide products are built from
// 16-bit halves. Every function returns a fully reduced residue, which is
// what makes results bit-identical to the CPU backend's.

// Kernel arguments: a header of 8 words, then one record of 8 words per limb.
@group(0) @binding(0) var<storage, read> args: array<u32>;

const HEADER: u32 = 8u;
const RECORD: u32 = 8u;

// A prime with its Barrett constants: mu = floor(2^(2k) / p), k = bit length.
struct Prime {
    p: u32,
    mu: u32,
    k: u32,
}

// The prime of limb record `limb`: words 0..3 of the record.
fn prime_of(limb: u32) -> Prime {
    let r = HEADER + RECORD * limb;
    return Prime(args[r], args[r + 1u], args[r + 2u]);
}

// Word `w` (3..8) of limb record `limb`: a per-limb constant.
fn limb_word(limb: u32, w: u32) -> u32 {
    return args[HEADER + RECORD * limb + w];
}

// The flat index of this invocation over a 2-D grid of 256-wide workgroups.
fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * 256u + lid;
}

// a * b as (low word, high word).
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

// (a + b) mod p for a, b < p < 2^31 (the sum cannot wrap).
fn add_mod(a: u32, b: u32, p: u32) -> u32 {
    let s = a + b;
    return select(s, s - p, s >= p);
}

// (a - b) mod p for a, b < p.
fn sub_mod(a: u32, b: u32, p: u32) -> u32 {
    return select(a - b, a + (p - b), a < b);
}

// -a mod p for a < p.
fn neg_mod(a: u32, p: u32) -> u32 {
    return select(p - a, 0u, a == 0u);
}

// a * w mod p with w's Shoup quotient wq = floor(w * 2^32 / p): exact for
// any a < 2^32 (the estimate is off by at most one p).
fn mul_shoup(a: u32, w: u32, wq: u32, p: u32) -> u32 {
    let q = mul_wide(a, wq).y;
    let r = a * w - q * p;
    return select(r, r - p, r >= p);
}

// x mod p for a 64-bit x below 2^(2k) (Barrett, HAC 14.42: the quotient
// estimate is short by at most 2, so at most two corrections).
fn reduce_wide(x: vec2<u32>, pr: Prime) -> u32 {
    let s = pr.k - 1u;
    let q1 = (x.x >> s) | (x.y << (32u - s));
    let m = mul_wide(q1, pr.mu);
    let t = pr.k + 1u;
    var qh = m.y;
    if (t < 32u) {
        qh = (m.x >> t) | (m.y << (32u - t));
    }
    let qp = mul_wide(qh, pr.p);
    var lo = x.x - qp.x;
    var hi = x.y - qp.y - select(0u, 1u, x.x < qp.x);
    for (var i = 0; i < 2; i++) {
        if (hi != 0u || lo >= pr.p) {
            hi = hi - select(0u, 1u, lo < pr.p);
            lo = lo - pr.p;
        }
    }
    return lo;
}

// a * b mod p for a, b < p.
fn mul_mod(a: u32, b: u32, pr: Prime) -> u32 {
    return reduce_wide(mul_wide(a, b), pr);
}

// a mod p for any a < 2^32.
fn reduce_word(a: u32, pr: Prime) -> u32 {
    return reduce_wide(vec2<u32>(a, 0u), pr);
}
