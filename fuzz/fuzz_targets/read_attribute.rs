#![no_main]
//! Fuzz target `read_attribute`: arbitrary bytes into `reel::fuzzing::read_attribute`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::read_attribute(data));
