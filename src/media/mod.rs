//! The media-type catalogue: LTO generations, WORM, cleaning; stable ids.
