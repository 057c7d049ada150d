//! The consumer-group APIs, served by the group coordinator (`crate::groups`).

pub(crate) mod admin;
pub(crate) mod consumer;
pub(crate) mod find_coordinator;
pub(crate) mod membership;
pub(crate) mod offsets;

use crate::groups::{Caller, GroupError};
use crate::handlers::NONE;
use crate::kafka_errors::group_error_code;

/// The error code of an answer: NONE, or the Kafka code of the coordinator's refusal.
fn error_code(error: Option<&GroupError>) -> i16 {
    error.map_or(NONE, group_error_code)
}

/// Who a group request says it is.
fn caller<'a>(member_id: &'a str, instance_id: Option<&'a str>, generation: i32) -> Caller<'a> {
    Caller {
        member_id,
        instance_id,
        generation,
    }
}
