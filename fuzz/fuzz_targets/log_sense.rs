#![no_main]
//! Fuzz target `log_sense`: arbitrary bytes into `reel::fuzzing::log_sense`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::log_sense(data));
