//! The embedded SQLite database behind the pool layer.
