//! Ids: a prefix and 24 random hex digits (the reference SDK uses only 8).

use rand::Rng;

pub fn new_id(prefix: &str) -> String {
    let mut rng = rand::rng();
    let hex: String = (0..24)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect();
    format!("{prefix}_{hex}")
}

pub fn thread_id() -> String {
    new_id("thr")
}

pub fn message_id() -> String {
    new_id("msg")
}
