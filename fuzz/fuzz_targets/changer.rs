#![no_main]
//! Fuzz target `changer`: arbitrary bytes into `reel::fuzzing::changer`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::changer(data));
