// The bit-reversed negacyclic NTT of hefty-ntt, all limbs of a polynomial per
// dispatch. Twiddles: per limb, 4n words — forward w[0..n), its Shoup
// quotients, inverse w[0..n), their quotients — w[k] = psi^bitrev(k).
// Header: n, limbs, first limb, m (groups), t (half span), block, -, -.
// Limb record words 3..7: n^-1 and its quotient, n^-1·w_inv[1] and its quotient.

@group(0) @binding(1) var<storage, read_write> a: array<u32>;
@group(0) @binding(2) var<storage, read> tw: array<u32>;

const BLOCK: u32 = 2048u;
var<workgroup> tile: array<u32, 2048>;

fn twiddle(limb: u32, n: u32, table: u32, k: u32) -> vec2<u32> {
    let base = limb * 4u * n + table * 2u * n;
    return vec2<u32>(tw[base + k], tw[base + n + k]);
}

// One forward (Cooley–Tukey) stage over every limb: m groups of span 2t.
@compute @workgroup_size(256)
fn forward_stage(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    let half = n / 2u;
    if (idx >= half * args[1]) { return; }
    let limb = args[2] + idx / half;
    let b = idx % half;
    let m = args[3];
    let t = args[4];
    let g = b / t;
    let x = limb * n + g * 2u * t + b % t;
    let p = prime_of(limb).p;
    let w = twiddle(limb, n, 0u, m + g);
    let u = a[x];
    let v = mul_shoup(a[x + t], w.x, w.y, p);
    a[x] = add_mod(u, v, p);
    a[x + t] = sub_mod(u, v, p);
}

// One inverse (Gentleman–Sande) stage over every limb.
@compute @workgroup_size(256)
fn inverse_stage(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    let half = n / 2u;
    if (idx >= half * args[1]) { return; }
    let limb = args[2] + idx / half;
    let b = idx % half;
    let m = args[3];
    let t = args[4];
    let g = b / t;
    let x = limb * n + g * 2u * t + b % t;
    let p = prime_of(limb).p;
    let w = twiddle(limb, n, 1u, m + g);
    let u = a[x];
    let v = a[x + t];
    a[x] = add_mod(u, v, p);
    a[x + t] = mul_shoup(sub_mod(u, v, p), w.x, w.y, p);
}

// The last inverse stage (m = 1) with the scaling by n^-1 folded in.
@compute @workgroup_size(256)
fn inverse_last(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat_index(wid, nwg, lid);
    let n = args[0];
    let half = n / 2u;
    if (idx >= half * args[1]) { return; }
    let limb = args[2] + idx / half;
    let x = limb * n + idx % half;
    let p = prime_of(limb).p;
    let u = a[x];
    let v = a[x + half];
    a[x] = mul_shoup(add_mod(u, v, p), limb_word(limb, 3u), limb_word(limb, 4u), p);
    a[x + half] = mul_shoup(sub_mod(u, v, p), limb_word(limb, 5u), limb_word(limb, 6u), p);
}

// Every forward stage whose span fits one block, in workgroup memory: one
// workgroup per (block, limb); header m and t are the first such stage's.
@compute @workgroup_size(256)
fn forward_block(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n = args[0];
    let blk = args[5];
    let limb = args[2] + wid.y;
    let base = limb * n + wid.x * blk;
    let p = prime_of(limb).p;
    for (var i = lid; i < blk; i += 256u) {
        tile[i] = a[base + i];
    }
    workgroupBarrier();
    var m = args[3];
    var t = args[4];
    loop {
        if (t == 0u) { break; }
        let first = wid.x * blk / (2u * t);
        for (var b = lid; b < blk / 2u; b += 256u) {
            let g = b / t;
            let x = g * 2u * t + b % t;
            let w = twiddle(limb, n, 0u, m + first + g);
            let u = tile[x];
            let v = mul_shoup(tile[x + t], w.x, w.y, p);
            tile[x] = add_mod(u, v, p);
            tile[x + t] = sub_mod(u, v, p);
        }
        workgroupBarrier();
        m = m * 2u;
        t = t / 2u;
    }
    for (var i = lid; i < blk; i += 256u) {
        a[base + i] = tile[i];
    }
}

// Every inverse stage whose span fits one block (t from 1 while t < n/2 and
// 2t <= block), in workgroup memory.
@compute @workgroup_size(256)
fn inverse_block(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n = args[0];
    let blk = args[5];
    let limb = args[2] + wid.y;
    let base = limb * n + wid.x * blk;
    let p = prime_of(limb).p;
    for (var i = lid; i < blk; i += 256u) {
        tile[i] = a[base + i];
    }
    workgroupBarrier();
    var m = n / 2u;
    var t = 1u;
    loop {
        if (t >= n / 2u || 2u * t > blk) { break; }
        let first = wid.x * blk / (2u * t);
        for (var b = lid; b < blk / 2u; b += 256u) {
            let g = b / t;
            let x = g * 2u * t + b % t;
            let w = twiddle(limb, n, 1u, m + first + g);
            let u = tile[x];
            let v = tile[x + t];
            tile[x] = add_mod(u, v, p);
            tile[x + t] = mul_shoup(sub_mod(u, v, p), w.x, w.y, p);
        }
        workgroupBarrier();
        m = m / 2u;
        t = t * 2u;
    }
    for (var i = lid; i < blk; i += 256u) {
        a[base + i] = tile[i];
    }
}
