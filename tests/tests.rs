mod conformance;
mod errors;
mod util;
mod variants;
