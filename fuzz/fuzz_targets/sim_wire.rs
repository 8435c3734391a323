#![no_main]
//! Fuzz target `sim_wire`: arbitrary bytes into `reel::fuzzing::sim_wire`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::sim_wire(data));
