#![no_main]
//! Fuzz target `sim_command`: arbitrary bytes into `reel_sim::fuzzing::sim_command`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel_sim::fuzzing::sim_command(data));
