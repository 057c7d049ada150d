//! Client quota changes (Kafka's AlterClientQuotas).

use std::collections::BTreeMap;

use crate::MetadataRecord;
use crate::controller::Decision;
use crate::error::ControllerError;
use crate::proto::ClientQuotaChange;
use crate::proto::metadata_record::Record;
use crate::quotas::{QuotaEntity, QuotaValue};
use crate::state::MetadataState;
use crate::state::quotas::entity_parts;

/// Sets the quotas `set` of `entity` and removes those named in `remove`. Every key and value
/// is checked as the state machine checks them, so a refusal comes back here rather than from
/// the log. Proposes only what changes: nothing when the quotas already are as asked (as
/// Kafka does, a change with nothing to set or remove succeeds).
pub fn alter_client_quota(
    state: &MetadataState,
    entity: &QuotaEntity,
    set: &BTreeMap<String, f64>,
    remove: &[String],
) -> Decision {
    if set.is_empty() && remove.is_empty() {
        return Ok(Vec::new());
    }
    let asked = ClientQuotaChange {
        entity: entity_parts(entity),
        set: set.clone(),
        remove: remove.to_vec(),
    };
    let (_, next) = (state.client_quota_after(&asked))
        .map_err(|e| ControllerError::InvalidRequest(e.to_string()))?;
    let current = state.client_quota(entity);
    if current.map_or(next.is_empty(), |c| *c == next) {
        return Ok(Vec::new());
    }
    let unchanged = |k: &String, v: &f64| current.and_then(|c| c.get(k)) == Some(&QuotaValue(*v));
    let change = ClientQuotaChange {
        entity: asked.entity,
        set: (set.iter())
            .filter(|(k, v)| !unchanged(k, v))
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        remove: (current.into_iter().flat_map(|c| c.keys()))
            .filter(|k| !next.contains_key(*k))
            .cloned()
            .collect(),
    };
    Ok(vec![MetadataRecord::new(Record::ClientQuotaChange(change))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::quotas::{CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, USER};

    fn alice() -> QuotaEntity {
        QuotaEntity::new([(USER.to_owned(), Some("alice".to_owned()))]).expect("valid")
    }

    fn rates(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    /// Decides and applies; returns the records decided.
    fn decide(
        state: &mut MetadataState,
        set: &[(&str, f64)],
        remove: &[&str],
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        let remove: Vec<String> = remove.iter().map(|k| k.to_string()).collect();
        let records = alter_client_quota(state, &alice(), &rates(set), &remove)?;
        for r in &records {
            state.apply(r).expect("the decided record applies");
        }
        Ok(records)
    }

    #[test]
    fn a_change_proposes_one_record_of_what_changes() {
        let mut state = MetadataState::new();
        let both = [(PRODUCER_BYTE_RATE, 100.0), (CONSUMER_BYTE_RATE, 200.0)];
        assert_eq!(decide(&mut state, &both, &[]).map(|r| r.len()), Ok(1));
        let shown = state.client_quota(&alice()).map(|q| q.len());
        assert_eq!(shown, Some(2));
        // The same again changes nothing, and proposes nothing.
        assert_eq!(decide(&mut state, &both, &[]), Ok(Vec::new()));
        assert_eq!(
            decide(&mut state, &[], &[REQUEST_PERCENTAGE]),
            Ok(Vec::new())
        );
        assert_eq!(decide(&mut state, &[], &[]), Ok(Vec::new()));

        let records = decide(
            &mut state,
            &[(PRODUCER_BYTE_RATE, 100.0), (REQUEST_PERCENTAGE, 5.0)],
            &[CONSUMER_BYTE_RATE, REQUEST_PERCENTAGE],
        );
        assert!(records.is_err(), "a key both set and removed");
        let records = decide(
            &mut state,
            &[(REQUEST_PERCENTAGE, 5.0)],
            &[CONSUMER_BYTE_RATE],
        )
        .expect("decided");
        let Ok(Record::ClientQuotaChange(change)) = records[0].payload() else {
            panic!("{records:?}");
        };
        assert_eq!(change.set, rates(&[(REQUEST_PERCENTAGE, 5.0)]));
        assert_eq!(change.remove, [CONSUMER_BYTE_RATE]);

        decide(&mut state, &[], &[PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE]).expect("decided");
        assert_eq!(state.client_quota(&alice()), None);
    }

    #[test]
    fn invalid_changes_are_invalid_requests() {
        let state = MetadataState::new();
        for (set, remove) in [
            (rates(&[(PRODUCER_BYTE_RATE, 0.5)]), vec![]),
            (rates(&[("connection_creation_rate", 5.0)]), vec![]),
            (BTreeMap::new(), vec!["controller_mutation_rate".to_owned()]),
        ] {
            let err = alter_client_quota(&state, &alice(), &set, &remove).expect_err("refused");
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
            assert!(err.to_string().contains("user=alice"), "{err}");
        }
    }
}
