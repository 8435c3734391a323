#![no_main]
//! Fuzz target `request_sense`: arbitrary bytes into `reel::fuzzing::request_sense`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::request_sense(data));
