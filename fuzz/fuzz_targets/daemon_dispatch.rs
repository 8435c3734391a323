#![no_main]
//! Fuzz target `daemon_dispatch`: arbitrary bytes into `reel::fuzzing::daemon_dispatch`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel::fuzzing::daemon_dispatch(data));
