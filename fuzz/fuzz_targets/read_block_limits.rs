#![no_main]
//! Fuzz target `read_block_limits`: arbitrary bytes into `reel::fuzzing::read_block_limits`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::read_block_limits(data));
