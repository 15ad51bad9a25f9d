//! hefty against its peers, in the same run: the criterion benches `ntt`
//! (hefty-ntt vs tfhe-ntt) and `bfv` (hefty's BFV vs fhe.rs). The library
//! is empty; the benches are the content (`cargo bench -p hefty-benches`).
