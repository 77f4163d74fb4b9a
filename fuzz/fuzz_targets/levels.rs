//! The level-text parser on arbitrary bytes: it never panics, and what it accepts is valid
//! (SPEC 1.3): prices finite in (0, 1e15], sizes finite in [0, 1e15].

#![no_main]

use libfuzzer_sys::fuzz_target;
use orderflow::source::levels::parse_levels;

fuzz_target!(|text: &[u8]| {
    let mut levels = Vec::new();
    if parse_levels(text, &mut levels).is_ok() {
        for level in &levels {
            assert!(level.price.is_finite() && level.price > 0.0 && level.price <= 1e15);
            assert!(level.size.is_finite() && level.size >= 0.0 && level.size <= 1e15);
        }
    }
});
