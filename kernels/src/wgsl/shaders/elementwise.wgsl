// Word-by-word kernels over the first `limbs` limbs: binding 1 is the
// operand written, 2 and 3 the operands read. Header: n, limbs, flags.
// Record words 3..4: a per-limb constant and its Shoup quotient.

@group(0) @binding(1) var<storage, read_write> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> c: array<u32>;

// The invocation's word, or n·limbs when it has none.
fn word_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    let idx = flat_index(wid, nwg, lid);
    return min(idx, args[0] * args[1]);
}

@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = word_index(wid, nwg, lid);
    if (i == args[0] * args[1]) { return; }
    a[i] = add_mod(a[i], b[i], prime_of(i / args[0]).p);
}

@compute @workgroup_size(256)
fn sub(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = word_index(wid, nwg, lid);
    if (i == args[0] * args[1]) { return; }
    a[i] = sub_mod(a[i], b[i], prime_of(i / args[0]).p);
}

@compute @workgroup_size(256)
fn neg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = word_index(wid, nwg, lid);
    if (i == args[0] * args[1]) { return; }
    a[i] = neg_mod(a[i], prime_of(i / args[0]).p);
}

@compute @workgroup_size(256)
fn mul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = word_index(wid, nwg, lid);
    if (i == args[0] * args[1]) { return; }
    a[i] = mul_mod(a[i], b[i], prime_of(i / args[0]));
}

// a += b·c; with header flag 1 (the first term of a sum), a = b·c.
@compute @workgroup_size(256)
fn mul_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = word_index(wid, nwg, lid);
    if (i == args[0] * args[1]) { return; }
    let pr = prime_of(i / args[0]);
    let prod = mul_mod(b[i], c[i], pr);
    a[i] = select(add_mod(a[i], prod, pr.p), prod, args[2] != 0u);
}

// a = (a - b)·c_limb.
@compute @workgroup_size(256)
fn sub_scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = word_index(wid, nwg, lid);
    if (i == args[0] * args[1]) { return; }
    let limb = i / args[0];
    let p = prime_of(limb).p;
    a[i] = mul_shoup(sub_mod(a[i], b[i], p), limb_word(limb, 3u), limb_word(limb, 4u), p);
}

// a *= c_limb.
@compute @workgroup_size(256)
fn mul_const(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = word_index(wid, nwg, lid);
    if (i == args[0] * args[1]) { return; }
    let limb = i / args[0];
    a[i] = mul_shoup(a[i], limb_word(limb, 3u), limb_word(limb, 4u), prime_of(limb).p);
}

// a += c_limb.
@compute @workgroup_size(256)
fn add_const(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = word_index(wid, nwg, lid);
    if (i == args[0] * args[1]) { return; }
    let limb = i / args[0];
    a[i] = add_mod(a[i], limb_word(limb, 3u), prime_of(limb).p);
}

// a += b·c_limb; with header flag 1, a = b·c_limb.
@compute @workgroup_size(256)
fn mul_const_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = word_index(wid, nwg, lid);
    if (i == args[0] * args[1]) { return; }
    let limb = i / args[0];
    let p = prime_of(limb).p;
    let prod = mul_shoup(b[i], limb_word(limb, 3u), limb_word(limb, 4u), p);
    a[i] = select(add_mod(a[i], prod, p), prod, args[2] != 0u);
}
