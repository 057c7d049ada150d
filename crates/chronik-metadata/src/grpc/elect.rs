//! The ElectLeaders call's types on the wire and in the controller, both ways.

use super::pb;
use crate::controller::{ElectionOutcome, ElectionResult, ElectionType};

impl From<ElectionType> for pb::ElectionType {
    fn from(kind: ElectionType) -> Self {
        match kind {
            ElectionType::Preferred => pb::ElectionType::Preferred,
            ElectionType::Unclean => pb::ElectionType::Unclean,
        }
    }
}

impl From<pb::ElectionType> for ElectionType {
    fn from(kind: pb::ElectionType) -> Self {
        match kind {
            pb::ElectionType::Preferred => ElectionType::Preferred,
            pb::ElectionType::Unclean => ElectionType::Unclean,
        }
    }
}

impl From<ElectionOutcome> for pb::ElectionOutcome {
    fn from(outcome: ElectionOutcome) -> Self {
        match outcome {
            ElectionOutcome::Elected => pb::ElectionOutcome::Elected,
            ElectionOutcome::NotNeeded => pb::ElectionOutcome::NotNeeded,
            ElectionOutcome::PreferredNotAvailable => pb::ElectionOutcome::PreferredNotAvailable,
            ElectionOutcome::EligibleNotAvailable => pb::ElectionOutcome::EligibleNotAvailable,
            ElectionOutcome::UnknownPartition => pb::ElectionOutcome::UnknownPartition,
        }
    }
}

impl From<pb::ElectionOutcome> for ElectionOutcome {
    fn from(outcome: pb::ElectionOutcome) -> Self {
        match outcome {
            pb::ElectionOutcome::Elected => ElectionOutcome::Elected,
            pb::ElectionOutcome::NotNeeded => ElectionOutcome::NotNeeded,
            pb::ElectionOutcome::PreferredNotAvailable => ElectionOutcome::PreferredNotAvailable,
            pb::ElectionOutcome::EligibleNotAvailable => ElectionOutcome::EligibleNotAvailable,
            pb::ElectionOutcome::UnknownPartition => ElectionOutcome::UnknownPartition,
        }
    }
}

impl From<ElectionResult> for pb::ElectionResult {
    fn from(r: ElectionResult) -> Self {
        pb::ElectionResult {
            topic: r.topic,
            partition: r.partition,
            outcome: pb::ElectionOutcome::from(r.outcome).into(),
        }
    }
}

/// A result read off the wire; an outcome number this build does not know is an error.
pub fn election_result(r: pb::ElectionResult) -> Result<ElectionResult, String> {
    let outcome = pb::ElectionOutcome::try_from(r.outcome)
        .map_err(|_| format!("unknown election outcome {}", r.outcome))?;
    Ok(ElectionResult {
        topic: r.topic,
        partition: r.partition,
        outcome: outcome.into(),
    })
}
