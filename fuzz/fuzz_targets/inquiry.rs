#![no_main]
//! Fuzz target `inquiry`: arbitrary bytes into `reel::fuzzing::inquiry`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::inquiry(data));
