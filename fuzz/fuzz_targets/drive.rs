#![no_main]
//! Fuzz target `drive`: arbitrary bytes into `reel::fuzzing::drive`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::drive(data));
