//! All integration tests, compiled into one binary (as ripgrep does): `cargo test --test integration`.

mod util;

mod analysis;
mod axis;
mod bad;
mod by;
mod columnar;
mod conformance;
mod csv_files;
mod datasets;
mod docs;
mod errors;
mod exact;
mod jsonl_files;
mod shell;
mod top;
mod variants;
