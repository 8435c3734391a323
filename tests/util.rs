//! Shared helpers for the integration tests (temp dirs, simulator, daemon on a temp socket).
