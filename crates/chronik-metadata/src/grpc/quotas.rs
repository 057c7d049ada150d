//! Client quota changes as the controller service carries them (AlterClientQuotas).

use std::collections::BTreeMap;

use super::pb::{ClientQuotaChange, QuotaEntityPart};
use crate::node::{MetaNode, NodeError};
use crate::{ControllerError, QuotaEntity};

/// A change of `entity`'s quotas, as a request carries it.
pub fn client_quota_change(
    entity: &QuotaEntity,
    set: BTreeMap<String, f64>,
    remove: Vec<String>,
) -> ClientQuotaChange {
    ClientQuotaChange {
        entity: (entity.parts().iter())
            .map(|(entity_type, name)| QuotaEntityPart {
                entity_type: entity_type.clone(),
                name: name.clone(),
            })
            .collect(),
        set,
        remove,
    }
}

/// The entity a request names, or why it is invalid.
pub fn quota_entity(parts: &[QuotaEntityPart]) -> Result<QuotaEntity, String> {
    QuotaEntity::new(
        parts
            .iter()
            .map(|p| (p.entity_type.clone(), p.name.clone())),
    )
}

/// Applies one change of a request; returns the entity as its result names it, and the
/// outcome.
pub(super) async fn alter(
    node: &MetaNode,
    change: &ClientQuotaChange,
) -> (String, Result<(), NodeError>) {
    match quota_entity(&change.entity) {
        Ok(entity) => {
            let outcome = node.alter_client_quota(&entity, &change.set, &change.remove);
            (entity.to_string(), outcome.await)
        }
        Err(e) => {
            let refused =
                ControllerError::InvalidRequest(format!("invalid client quota entity: {e}"));
            (raw_entity(&change.entity), Err(refused.into()))
        }
    }
}

/// An invalid entity, shown as given.
fn raw_entity(parts: &[QuotaEntityPart]) -> String {
    let part = |p: &QuotaEntityPart| {
        let name = p.name.as_deref().unwrap_or("<default>");
        format!("{}={}", p.entity_type.escape_debug(), name.escape_debug())
    };
    parts.iter().map(part).collect::<Vec<_>>().join(", ")
}
