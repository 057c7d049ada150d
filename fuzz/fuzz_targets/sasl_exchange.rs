//! libFuzzer target; the body is shared with the stable replay test (see docs/fuzzing.md).

#![no_main]

// The outcome and the seed helpers are used only by the replay test.
#[allow(dead_code)]
#[path = "../harness/sasl_exchange.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::run(data);
});
