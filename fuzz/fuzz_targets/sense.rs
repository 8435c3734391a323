#![no_main]
//! Fuzz target `sense`: arbitrary bytes into `reel::fuzzing::sense`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::sense(data));
