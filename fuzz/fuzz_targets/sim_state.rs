#![no_main]
//! Fuzz target `sim_state`: arbitrary bytes into `reel_sim::fuzzing::sim_state`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel_sim::fuzzing::sim_state(data));
