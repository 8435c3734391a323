//! RSM media pools: CreateNtmsMediaPool and friends.
