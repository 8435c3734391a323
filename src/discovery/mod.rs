//! Discovery: the library as it really is.
