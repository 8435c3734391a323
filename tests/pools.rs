//! Integration tests: pools.
