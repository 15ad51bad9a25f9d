//! The MNIST loader on the real files (../shared/data/mnist, or
//! $HEFTY_MNIST_DIR).

mod common;
use common::data_dir;

use hefty_nn::Error;
use hefty_nn::mnist::{Mnist, PIXELS};

#[test]
fn counts_and_label_histograms_are_the_standard_ones() {
    let m = Mnist::load(&data_dir()).expect("MNIST at ../shared/data/mnist");
    assert_eq!((m.train.len(), m.test.len()), (60_000, 10_000));
    assert_eq!(m.train.images.len(), 60_000 * PIXELS);
    assert_eq!(
        m.train.label_histogram(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        m.test.label_histogram(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    // The first training image is a 5 whose pixels sum to 27,525.
    assert_eq!(m.train.labels[0], 5);
    assert_eq!(
        m.train.image(0).iter().map(|&p| p as u32).sum::<u32>(),
        27_525
    );
    assert_eq!(Mnist::load_test(&data_dir()).unwrap(), m.test);
}

#[test]
fn a_missing_folder_says_how_to_point_at_the_data() {
    let err = Mnist::load(std::path::Path::new("/nonexistent/mnist")).unwrap_err();
    assert!(matches!(err, Error::MissingData { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("--mnist") && msg.contains("HEFTY_MNIST_DIR"),
        "{msg}"
    );
}

#[test]
fn a_corrupted_file_is_a_data_error() {
    let dir = std::env::temp_dir().join(format!("hefty-mnist-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::write(dir.join(name), b"not gzip at all").unwrap();
    }
    let err = Mnist::load_test(&dir).unwrap_err();
    assert!(matches!(err, Error::Data { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
