//! SCSI operation codes: reel-hw's [`OpCode`] and its one table of command names
//! (scsi-reference §4), shared with the simulator and the command statistics.

pub use reel_hw::opcode::{Applies, Command, COMMANDS};
pub use reel_hw::OpCode;
