//! The hostile-input harness for hefty-nn: arbitrary bytes, pixel counts
//! and settings through its public API — no panic, readable errors.

use std::path::Path;
use std::sync::OnceLock;

use hefty_nn::model::{FixedPoint, Model};
use proptest::prelude::*;

#[path = "../../he-core/tests/harness/no_panic.rs"]
mod no_panic;
use no_panic::no_panic;

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        Model::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/cryptonets-mnist-square.json"),
        )
        .unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn readers_never_panic(graph in prop::collection::vec(any::<u8>(), 0..400),
                           weights in prop::collection::vec(any::<u8>(), 0..400),
                           rank in 0usize..6) {
        no_panic("Model::from_bytes", || Model::from_bytes(&graph, &weights))?;
        no_panic("decode_idx", || hefty_nn::mnist::decode_idx(&weights, rank))?;
    }

    #[test]
    fn executors_refuse_bad_inputs_and_settings(len in prop_oneof![Just(784usize), Just(0), Just(783), Just(785), 0..2000usize],
                                                bits in prop_oneof![0u32..45, any::<u32>()]) {
        let m = model();
        let pixels = vec![7u8; len];
        no_panic("forward_f64", || m.forward_f64(&pixels))?;
        no_panic("fixed point", || FixedPoint { precision_bits: bits }.prepare(m).map(|_| ()))?;
    }
}
