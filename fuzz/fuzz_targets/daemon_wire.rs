#![no_main]
//! Fuzz target `daemon_wire`: arbitrary bytes into `reel::fuzzing::daemon_wire`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::daemon_wire(data));
