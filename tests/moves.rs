//! Integration tests: moves.
