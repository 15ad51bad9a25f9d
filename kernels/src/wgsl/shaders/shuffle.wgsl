// Kernels that move coefficients: automorphisms, NTT-form permutations,
// monomial products, BFV's division by the last prime.
// Binding 1 is the output, 2 the source, 3 a permutation table.

@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
@group(0) @binding(3) var<storage, read> perm: array<u32>;

// out = σ_g(src) in coefficient form. Header: n, limbs, -, g.
@compute @workgroup_size(256)
fn automorphism(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    if (idx >= n * args[1]) { return; }
    let limb = idx / n;
    let i = idx % n;
    // 2n divides 2^32, so the wrapping product is exact modulo 2n.
    let e = (i * args[3]) & (2u * n - 1u);
    let x = src[idx];
    if (e < n) {
        out[limb * n + e] = x;
    } else {
        out[limb * n + e - n] = neg_mod(x, prime_of(limb).p);
    }
}

// out[k] = src[perm[k]] in every limb (σ_g in NTT form). Header: n, limbs.
@compute @workgroup_size(256)
fn permute(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    if (idx >= n * args[1]) { return; }
    let limb = idx / n;
    out[idx] = src[limb * n + perm[idx % n]];
}

// out = src · x^k (k < 2n). Header: n, limbs, -, shift = k mod n, flip = k >= n.
@compute @workgroup_size(256)
fn monomial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    if (idx >= n * args[1]) { return; }
    let limb = idx / n;
    let i = idx % n;
    let shift = args[3];
    let flip = args[4] != 0u;
    let p = prime_of(limb).p;
    var x: u32;
    var negate: bool;
    if (i >= shift) {
        x = src[limb * n + i - shift];
        negate = flip;
    } else {
        x = src[limb * n + i + n - shift];
        negate = !flip;
    }
    out[idx] = select(x, neg_mod(x, p), negate);
}

// out += c·x^k·src. Header: n, limbs, -, shift, flip; record words 3..6: the
// constant for coefficients that stay (and its quotient), then for those that wrap.
@compute @workgroup_size(256)
fn monomial_mul_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    if (idx >= n * args[1]) { return; }
    let limb = idx / n;
    let i = idx % n;
    let shift = args[3];
    let p = prime_of(limb).p;
    var x: u32;
    var w: u32;
    if (i >= shift) {
        x = src[limb * n + i - shift];
        w = 3u;
    } else {
        x = src[limb * n + i + n - shift];
        w = 5u;
    }
    let prod = mul_shoup(x, limb_word(limb, w), limb_word(limb, w + 1u), p);
    out[idx] = add_mod(out[idx], prod, p);
}

// out = round(src / q_last) modulo the other primes (coefficient form).
// Header: n, limbs (of the output), -, q_last. Record words 3..5: q_last mod
// q_i, then (q_last)^-1 mod q_i and its quotient.
@compute @workgroup_size(256)
fn divide_round_by_last(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    let limbs = args[1];
    if (idx >= n * limbs) { return; }
    let limb = idx / n;
    let q_last = args[3];
    let r = src[limbs * n + idx % n];
    let pr = prime_of(limb);
    // The centred remainder r - q_last when r > q_last / 2, modulo q_i.
    let r_mod = sub_mod(reduce_word(r, pr), select(0u, limb_word(limb, 3u), r > q_last / 2u), pr.p);
    out[idx] = mul_shoup(sub_mod(src[idx], r_mod, pr.p), limb_word(limb, 4u), limb_word(limb, 5u), pr.p);
}
