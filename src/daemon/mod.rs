//! `reel serve`: the controller daemon and its wire protocol.
