//! Client quotas in the state: applying a `ClientQuotaChange`, and restoring quotas from a
//! snapshot with the same checks.

use std::collections::BTreeMap;

use crate::Result;
use crate::error::StateError;
use crate::proto::{ClientQuotaChange, ClientQuotaSnapshot, QuotaEntityPart};
use crate::quotas::{MAX_QUOTA_ENTITIES, QuotaEntity, QuotaValue, check_quota, check_quota_key};
use crate::state::{ClientQuotas, MetadataState};

impl MetadataState {
    pub(crate) fn change_client_quota(&mut self, r: &ClientQuotaChange) -> Result<()> {
        let (entity, next) = self.client_quota_after(r)?;
        match next.is_empty() {
            true => self.client_quotas.remove(&entity),
            false => self.client_quotas.insert(entity, next),
        };
        Ok(())
    }

    /// The entity `r` changes and its quotas after `r` (empty: it has none left), or why `r`
    /// is invalid. Changes nothing: the controller uses it to check a change before proposing.
    pub(crate) fn client_quota_after(
        &self,
        r: &ClientQuotaChange,
    ) -> Result<(QuotaEntity, BTreeMap<String, QuotaValue>)> {
        let entity = entity_from_parts(&r.entity)?;
        let invalid =
            |reason: String| StateError::InvalidClientQuota(format!("{entity}: {reason}"));
        if r.set.is_empty() && r.remove.is_empty() {
            return Err(invalid(
                "the change sets and removes nothing; set or remove at least one quota".into(),
            ));
        }
        for key in &r.remove {
            check_quota_key(key).map_err(invalid)?;
            if r.set.contains_key(key) {
                return Err(invalid(format!(
                    "'{key}' is both set and removed; do one or the other"
                )));
            }
        }
        for (key, value) in &r.set {
            check_quota(&entity, key, *value).map_err(StateError::InvalidClientQuota)?;
        }
        let current = self.client_quotas.get(&entity);
        let mut next = current.cloned().unwrap_or_default();
        for key in &r.remove {
            next.remove(key);
        }
        next.extend(r.set.iter().map(|(k, v)| (k.clone(), QuotaValue(*v))));
        if current.is_none() && !next.is_empty() {
            check_quota_count(self.client_quotas.len() + 1)?;
        }
        Ok((entity, next))
    }
}

fn check_quota_count(count: usize) -> Result<()> {
    if count > MAX_QUOTA_ENTITIES {
        return Err(StateError::TooMany {
            what: "client quota entities (remove quotas no longer needed first)",
            count,
            max: MAX_QUOTA_ENTITIES,
        });
    }
    Ok(())
}

/// The entity a record or snapshot names.
pub(crate) fn entity_from_parts(parts: &[QuotaEntityPart]) -> Result<QuotaEntity> {
    let parts = parts
        .iter()
        .map(|p| (p.entity_type.clone(), p.name.clone()));
    QuotaEntity::new(parts).map_err(StateError::InvalidQuotaEntity)
}

/// An entity as records and snapshots carry it.
pub(crate) fn entity_parts(entity: &QuotaEntity) -> Vec<QuotaEntityPart> {
    (entity.parts().iter())
        .map(|(entity_type, name)| QuotaEntityPart {
            entity_type: entity_type.clone(),
            name: name.clone(),
        })
        .collect()
}

/// The client quotas of a snapshot, in entity order.
pub(crate) fn quota_snapshots(quotas: &ClientQuotas) -> Vec<ClientQuotaSnapshot> {
    (quotas.iter())
        .map(|(entity, values)| ClientQuotaSnapshot {
            entity: entity_parts(entity),
            values: (values.iter()).map(|(k, v)| (k.clone(), v.0)).collect(),
        })
        .collect()
}

/// Restores client quotas from a snapshot, with the checks a change gets.
pub(crate) fn restore_client_quotas(snapshots: &[ClientQuotaSnapshot]) -> Result<ClientQuotas> {
    check_quota_count(snapshots.len())?;
    let mut quotas = ClientQuotas::new();
    for s in snapshots {
        let entity = entity_from_parts(&s.entity)?;
        if s.values.is_empty() {
            return Err(StateError::InvalidSnapshot(format!(
                "client quota entity {entity} has no quotas"
            )));
        }
        for (key, value) in &s.values {
            check_quota(&entity, key, *value).map_err(StateError::InvalidClientQuota)?;
        }
        let values = (s.values.iter()).map(|(k, v)| (k.clone(), QuotaValue(*v)));
        if quotas.insert(entity.clone(), values.collect()).is_some() {
            return Err(StateError::InvalidSnapshot(format!(
                "client quota entity {entity} appears twice"
            )));
        }
    }
    Ok(quotas)
}
