//! DescribeClientQuotas and AlterClientQuotas (KIP-546): the client quotas kept in the
//! metadata, described by entity filters and changed one entity at a time through the
//! controller, which refuses what Chronik does not enforce.

use std::collections::{BTreeMap, HashSet};

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::alter_client_quotas_request::EntryData as AlterEntry;
use chronik_kafka::kafka_protocol::messages::alter_client_quotas_response::{
    EntityData as AlteredEntity, EntryData as AlteredEntry,
};
use chronik_kafka::kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use chronik_kafka::kafka_protocol::messages::describe_client_quotas_response::{
    EntityData, EntryData, ValueData,
};
use chronik_kafka::kafka_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
};
use chronik_metadata::quotas::{CLIENT_ID, QuotaEntity, USER};

use super::{NONE, str_bytes};
use crate::kafka_errors::{Refusal, node_refusal};
use crate::services::Services;

const MATCH_EXACT: i8 = 0;
const MATCH_DEFAULT: i8 = 1;
const MATCH_SPECIFIED: i8 = 2;

pub(crate) fn describe(
    services: &Services,
    req: DescribeClientQuotasRequest,
) -> DescribeClientQuotasResponse {
    let filter = match Filter::parse(&req.components, req.strict) {
        Ok(f) => f,
        Err(message) => {
            return DescribeClientQuotasResponse::default()
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_error_message(Some(str_bytes(&message)));
        }
    };
    let entries = services.cluster.metadata(|s| {
        (s.client_quotas().iter())
            .filter(|(entity, _)| filter.matches(entity))
            .map(|(entity, values)| {
                let entity = (entity.parts().iter())
                    .map(|(t, name)| {
                        EntityData::default()
                            .with_entity_type(str_bytes(t))
                            .with_entity_name(name.as_deref().map(str_bytes))
                    })
                    .collect();
                let values = (values.iter())
                    .map(|(k, v)| ValueData::default().with_key(str_bytes(k)).with_value(v.0))
                    .collect();
                EntryData::default().with_entity(entity).with_values(values)
            })
            .collect()
    });
    DescribeClientQuotasResponse::default()
        .with_error_code(NONE)
        .with_entries(Some(entries))
}

/// A DescribeClientQuotas filter: names each entity type must have (`None`: its default),
/// types that must merely be present, and whether nothing else may be.
struct Filter {
    exact: BTreeMap<String, Option<String>>,
    present: HashSet<String>,
    strict: bool,
}

impl Filter {
    fn parse(components: &[ComponentData], strict: bool) -> Result<Self, String> {
        let mut filter = Filter {
            exact: BTreeMap::new(),
            present: HashSet::new(),
            strict,
        };
        for c in components {
            let entity_type = c.entity_type.as_str();
            if entity_type != USER && entity_type != CLIENT_ID {
                return Err(format!(
                    "unknown entity type '{entity_type}' in the filter: use 'user' or 'client-id'"
                ));
            }
            if filter.exact.contains_key(entity_type) || filter.present.contains(entity_type) {
                return Err(format!(
                    "entity type '{entity_type}' appears more than once in the filter"
                ));
            }
            let name = c._match.as_ref().map(|m| m.as_str().to_owned());
            match (c.match_type, name) {
                (MATCH_EXACT, Some(name)) => {
                    filter.exact.insert(entity_type.to_owned(), Some(name));
                }
                (MATCH_DEFAULT, None) => {
                    filter.exact.insert(entity_type.to_owned(), None);
                }
                (MATCH_SPECIFIED, None) => {
                    filter.present.insert(entity_type.to_owned());
                }
                (MATCH_EXACT | MATCH_DEFAULT | MATCH_SPECIFIED, _) => {
                    return Err(format!(
                        "match type {} for '{entity_type}' {} a match string",
                        c.match_type,
                        if c.match_type == MATCH_EXACT {
                            "needs"
                        } else {
                            "takes no"
                        }
                    ));
                }
                (other, _) => return Err(format!("unknown match type {other}: use 0, 1 or 2")),
            }
        }
        Ok(filter)
    }

    fn matches(&self, entity: &QuotaEntity) -> bool {
        if self.strict && entity.parts().len() != self.exact.len() + self.present.len() {
            return false;
        }
        (self.exact.iter()).all(|(t, name)| entity.name_of(t) == Some(name.as_deref()))
            && self.present.iter().all(|t| entity.name_of(t).is_some())
    }
}

pub(crate) async fn alter(
    services: &Services,
    req: AlterClientQuotasRequest,
) -> AlterClientQuotasResponse {
    let mut entries = Vec::with_capacity(req.entries.len());
    for entry in req.entries {
        let (code, message) = match alter_one(services, &entry, req.validate_only).await {
            Ok(()) => (NONE, None),
            Err((error, message)) => (error.code(), Some(str_bytes(&message))),
        };
        let entity = (entry.entity.iter())
            .map(|e| {
                AlteredEntity::default()
                    .with_entity_type(e.entity_type.clone())
                    .with_entity_name(e.entity_name.clone())
            })
            .collect();
        entries.push(
            AlteredEntry::default()
                .with_error_code(code)
                .with_error_message(message)
                .with_entity(entity),
        );
    }
    AlterClientQuotasResponse::default().with_entries(entries)
}

/// One entity's change; the Kafka error code and message when refused.
async fn alter_one(
    services: &Services,
    entry: &AlterEntry,
    validate_only: bool,
) -> Result<(), Refusal> {
    let invalid = |message: String| (ResponseError::InvalidRequest, message);
    let parts = (entry.entity.iter()).map(|e| {
        let name = e.entity_name.as_ref().map(|n| n.as_str().to_owned());
        (e.entity_type.as_str().to_owned(), name)
    });
    let entity = QuotaEntity::new(parts).map_err(invalid)?;
    let mut set = BTreeMap::new();
    let mut remove = Vec::new();
    let mut seen = HashSet::new();
    for op in &entry.ops {
        let key = op.key.as_str();
        if !seen.insert(key) {
            return Err(invalid(format!("quota key '{key}' appears more than once")));
        }
        if op.remove {
            remove.push(key.to_owned());
        } else {
            set.insert(key.to_owned(), op.value);
        }
    }
    let changed = (services.cluster)
        .alter_client_quota(&entity, set, remove, validate_only)
        .await;
    changed.map_err(|e| node_refusal(&e))
}
