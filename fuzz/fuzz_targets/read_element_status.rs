#![no_main]
//! Fuzz target `read_element_status`: arbitrary bytes into `reel::fuzzing::read_element_status`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::read_element_status(data));
