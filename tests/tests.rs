//! Integration tests: the built binary run on real files.

mod bad;
