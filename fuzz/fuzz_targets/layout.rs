#![no_main]
//! Fuzz target `layout`: arbitrary bytes into `reel_sim::fuzzing::layout`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel_sim::fuzzing::layout(data));
