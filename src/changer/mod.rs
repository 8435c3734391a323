//! SMC medium-changer driver, generic over `reel_hw::Transport`.
