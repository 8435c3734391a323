#![no_main]
//! Fuzz target `layout`: arbitrary bytes into `reel::fuzzing::layout`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::layout(data));
