#![no_main]
//! Fuzz target `read_position`: arbitrary bytes into `reel::fuzzing::read_position`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::read_position(data));
