#![no_main]
//! Fuzz target `report_density_support`: arbitrary bytes into `reel::fuzzing::report_density_support`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::report_density_support(data));
