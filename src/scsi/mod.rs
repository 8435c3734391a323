//! SCSI commands: one file per CDB, each with its builder, its parser and its tests.
