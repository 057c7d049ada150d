//! Chronik's Kafka wire protocol layer: pure functions from bytes to typed requests and from
//! typed responses to bytes, built on the `kafka-protocol` crate. No sockets, no async: the
//! broker reads frames from TCP and calls in here.
//!
//! Entry points for fuzzing: [`decode_request`] and [`validate_produce_records`] accept arbitrary
//! bytes and return errors, never panic, and never allocate by a length read from the input
//! beyond what the input's own size bounds (see the `guard` module for how kafka-protocol's array
//! pre-allocation is contained).

mod error;
mod frame;
mod guard;
mod records;
mod request;
mod response;
mod versions;

pub use error::{ProtocolError, Result};
pub use frame::{FRAME_PREFIX_LEN, peek_frame_len, try_split_frame};
pub use guard::decode_guarded;
pub use records::{records_error_code, validate_produce_records};
pub use request::{DecodedRequest, RawHeader, decode_request, peek_header};
pub use response::{encode_response, unsupported_api_versions_response};
pub use versions::{
    SUPPORTED, api_versions_response, default_request, default_response, supported_range,
};

/// Re-exported so the broker and tests use exactly the version this crate was built against.
pub use kafka_protocol;
