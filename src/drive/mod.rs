//! SSC tape-drive driver, generic over `reel_hw::Transport`.
