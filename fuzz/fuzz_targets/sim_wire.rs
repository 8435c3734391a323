#![no_main]
//! Fuzz target `sim_wire`: arbitrary bytes into `reel_sim::fuzzing::sim_wire`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel_sim::fuzzing::sim_wire(data));
