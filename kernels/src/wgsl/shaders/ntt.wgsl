// The bit-reversed negacyclic NTT of hefty-ntt, all limbs of a polynomial per
// dispatch. Twiddles: per limb, 4n words — forward w[0..n), its Shoup
// quotients, inverse w[0..n), their quotients — w[k] = psi^bitrev(k).
// Header: n, limbs, first limb, m (groups), t (half span), block, stop, -.
// n <= 2048: one block kernel (plus the inverse's last stage); larger n:
// a strided kernel for the eleven widest stages and a block kernel for the
// rest — two passes over memory at any n up to 2^22.
// Limb record words 3..7: n^-1 and its quotient, n^-1·w_inv[1] and its quotient.

@group(0) @binding(1) var<storage, read_write> a: array<u32>;
@group(0) @binding(2) var<storage, read> tw: array<u32>;

const BLOCK: u32 = 2048u;
var<workgroup> tile: array<u32, 2048>;

fn twiddle(limb: u32, n: u32, table: u32, k: u32) -> vec2<u32> {
    let base = limb * 4u * n + table * 2u * n;
    return vec2<u32>(tw[base + k], tw[base + n + k]);
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

// Every inverse stage whose span fits one block, from t = 1 while t is below
// header word 6 (n/2, or the first stage the strided kernel runs), in
// workgroup memory.
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
        if (t >= args[6] || 2u * t > blk) { break; }
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

// The forward stages of span t >= s = n / BLOCK (the first eleven), in
// workgroup memory: elements j, j + s, j + 2s, … meet only each other in
// those stages, so one workgroup per (j, limb) runs all of them on its 2048
// strided elements. With forward_block for the rest, any n up to 2^22 takes
// two passes over memory.
@compute @workgroup_size(256)
fn forward_strided(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n = args[0];
    let s = n / BLOCK;
    let limb = args[2] + wid.y;
    let base = limb * n + wid.x;
    let p = prime_of(limb).p;
    for (var i = lid; i < BLOCK; i += 256u) {
        tile[i] = a[base + i * s];
    }
    workgroupBarrier();
    var m = 1u;
    var tl = BLOCK / 2u;
    loop {
        if (tl == 0u) { break; }
        for (var b = lid; b < BLOCK / 2u; b += 256u) {
            let g = b / tl;
            let x = g * 2u * tl + b % tl;
            let w = twiddle(limb, n, 0u, m + g);
            let u = tile[x];
            let v = mul_shoup(tile[x + tl], w.x, w.y, p);
            tile[x] = add_mod(u, v, p);
            tile[x + tl] = sub_mod(u, v, p);
        }
        workgroupBarrier();
        m = m * 2u;
        tl = tl / 2u;
    }
    for (var i = lid; i < BLOCK; i += 256u) {
        a[base + i * s] = tile[i];
    }
}

// The inverse stages of span t >= s = n / BLOCK (the last eleven), the last
// one (m = 1) with the scaling by n^-1 folded in.
@compute @workgroup_size(256)
fn inverse_strided(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n = args[0];
    let s = n / BLOCK;
    let limb = args[2] + wid.y;
    let base = limb * n + wid.x;
    let p = prime_of(limb).p;
    for (var i = lid; i < BLOCK; i += 256u) {
        tile[i] = a[base + i * s];
    }
    workgroupBarrier();
    var m = BLOCK / 2u;
    var tl = 1u;
    loop {
        if (m == 1u) { break; }
        for (var b = lid; b < BLOCK / 2u; b += 256u) {
            let g = b / tl;
            let x = g * 2u * tl + b % tl;
            let w = twiddle(limb, n, 1u, m + g);
            let u = tile[x];
            let v = tile[x + tl];
            tile[x] = add_mod(u, v, p);
            tile[x + tl] = mul_shoup(sub_mod(u, v, p), w.x, w.y, p);
        }
        workgroupBarrier();
        m = m / 2u;
        tl = tl * 2u;
    }
    let half = BLOCK / 2u;
    for (var b = lid; b < half; b += 256u) {
        let u = tile[b];
        let v = tile[b + half];
        tile[b] = mul_shoup(add_mod(u, v, p), limb_word(limb, 3u), limb_word(limb, 4u), p);
        tile[b + half] = mul_shoup(sub_mod(u, v, p), limb_word(limb, 5u), limb_word(limb, 6u), p);
    }
    workgroupBarrier();
    for (var i = lid; i < BLOCK; i += 256u) {
        a[base + i * s] = tile[i];
    }
}
