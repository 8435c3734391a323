//! A scripted transport for driver tests: expected CDB → canned reply.
