#![no_main]
//! Fuzz target `mode_sense`: arbitrary bytes into `reel::fuzzing::mode_sense`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::mode_sense(data));
