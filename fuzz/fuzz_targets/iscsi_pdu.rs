#![no_main]
//! Fuzz target `iscsi_pdu`: arbitrary bytes into `reel_sim::fuzzing::iscsi_pdu`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| reel_sim::fuzzing::iscsi_pdu(data));
