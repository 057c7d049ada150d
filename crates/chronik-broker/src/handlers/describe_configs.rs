//! DescribeConfigs: every supported config of a topic (its own over the broker's defaults), of
//! this broker, or the cluster-wide dynamic broker configs, with where each value comes from.

use chronik_kafka::kafka_protocol::error::ResponseError;
use chronik_kafka::kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use chronik_kafka::kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use chronik_kafka::kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};

use super::{NONE, str_bytes};
use crate::BrokerConfig;
use crate::kafka_errors::Refusal;
use crate::services::Services;
use crate::topic_config::{self, ConfigType, Effective, KEYS, Source};

pub(crate) const TOPIC: i8 = 2;
pub(crate) const BROKER: i8 = 4;
/// DescribeConfigs v3 added the config type and documentation.
const TYPE_VERSION: i16 = 3;

/// What the request asks to include besides names and values.
#[derive(Clone, Copy)]
struct Detail {
    synonyms: bool,
    documentation: bool,
    types: bool,
}

pub(crate) fn handle(
    services: &Services,
    req: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let detail = Detail {
        synonyms: req.include_synonyms,
        documentation: req.include_documentation && version >= TYPE_VERSION,
        types: version >= TYPE_VERSION,
    };
    let mut response = DescribeConfigsResponse::default();
    for resource in &req.resources {
        tracing::debug!(kind = resource.resource_type, name = %resource.resource_name, "describe configs");
        let result = DescribeConfigsResult::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        let result = match describe(services, resource, detail) {
            Ok(configs) => result.with_error_code(NONE).with_configs(configs),
            Err((error, message)) => result
                .with_error_code(error.code())
                .with_error_message(Some(str_bytes(&message))),
        };
        response.results.push(result);
    }
    response
}

fn describe(
    services: &Services,
    resource: &DescribeConfigsResource,
    detail: Detail,
) -> Result<Vec<DescribeConfigsResourceResult>, Refusal> {
    let name = resource.resource_name.as_str();
    let mut configs = match resource.resource_type {
        TOPIC => topic_configs(services, name, detail)?,
        BROKER => {
            check_broker_name(services, name)?;
            broker_configs(services, name.is_empty(), detail)
        }
        other => {
            return Err((
                ResponseError::InvalidRequest,
                format!("resource type {other} is not described; topics (2) and brokers (4) are"),
            ));
        }
    };
    // Kafka reads both a null and an empty key list as "all keys".
    if let Some(keys) = resource
        .configuration_keys
        .as_ref()
        .filter(|k| !k.is_empty())
    {
        configs.retain(|c| keys.iter().any(|k| k.as_str() == c.name.as_str()));
    }
    Ok(configs)
}

/// A broker resource names this broker by id; the empty name means the cluster default,
/// which here is the same thing.
pub(crate) fn check_broker_name(services: &Services, name: &str) -> Result<(), Refusal> {
    if name.is_empty() || name.parse::<i32>() == Ok(services.cluster.me) {
        return Ok(());
    }
    Err((
        ResponseError::InvalidRequest,
        format!(
            "broker '{name}' is not this broker ({})",
            services.cluster.me
        ),
    ))
}

fn topic_configs(
    services: &Services,
    name: &str,
    detail: Detail,
) -> Result<Vec<DescribeConfigsResourceResult>, Refusal> {
    let all = services.with_topic_defaults(|defaults, s| {
        let topic = s.topic_by_name(name)?;
        Some(topic_config::effective(name, defaults, &topic.configs))
    });
    let all = all.ok_or_else(|| {
        let error = ResponseError::UnknownTopicOrPartition;
        (error, format!("topic '{name}' does not exist"))
    })?;
    Ok(all.iter().map(|e| topic_entry(e, detail)).collect())
}

fn topic_entry(e: &Effective, detail: Detail) -> DescribeConfigsResourceResult {
    let mut synonyms = Vec::new();
    for (value, source) in e.synonyms.iter().filter(|_| detail.synonyms) {
        let name = match source {
            Source::DynamicTopic => Some(e.key.name),
            _ => e.key.broker_name,
        };
        if let Some(name) = name {
            synonyms.push(synonym(name, value, *source));
        }
    }
    entry(e.key.name, &e.value, e.source, false)
        .with_synonyms(synonyms)
        .with_config_type(if detail.types {
            e.key.config_type as i8
        } else {
            0
        })
        .with_documentation(detail.documentation.then(|| str_bytes(e.key.doc)))
}

fn synonym(name: &str, value: &str, source: Source) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(str_bytes(name))
        .with_value(Some(str_bytes(value)))
        .with_source(source as i8)
}

fn entry(
    name: &str,
    value: &str,
    source: Source,
    read_only: bool,
) -> DescribeConfigsResourceResult {
    DescribeConfigsResourceResult::default()
        .with_name(str_bytes(name))
        .with_value(Some(str_bytes(value)))
        .with_read_only(read_only)
        .with_config_source(source as i8)
        .with_is_sensitive(false)
}

/// One broker config: name, value, type and documentation.
type BrokerEntry = (&'static str, String, ConfigType, &'static str);

/// The configs of this broker or, with `cluster_wide`, the cluster-wide dynamic configs (only
/// those set, as Kafka describes the broker resource named ""). The topic defaults can change
/// at runtime; the rest are set by flags at start and read-only.
fn broker_configs(
    services: &Services,
    cluster_wide: bool,
    detail: Detail,
) -> Vec<DescribeConfigsResourceResult> {
    let mut out = match cluster_wide {
        true => Vec::new(),
        false => static_broker_configs(&services.config, detail),
    };
    services.with_topic_defaults(|defaults, _| {
        let settings = defaults.settings();
        for key in KEYS {
            let Some(name) = key.broker_name else {
                continue;
            };
            let mut synonyms = defaults.synonyms(key);
            if cluster_wide {
                synonyms.retain(|s| s.1 == Source::DynamicDefaultBroker);
            }
            let Some((value, source)) = synonyms.first().cloned() else {
                continue;
            };
            let value = if cluster_wide {
                value
            } else {
                settings.value(key)
            };
            let synonyms = match detail.synonyms {
                true => (synonyms.iter())
                    .map(|(v, s)| synonym(name, v, *s))
                    .collect(),
                false => Vec::new(),
            };
            out.push(
                broker_entry(
                    (name, value, key.config_type, key.doc),
                    source,
                    false,
                    detail,
                )
                .with_synonyms(synonyms),
            );
        }
    });
    out
}

/// The broker configs set by flags at start: those equal to the built-in default are
/// DEFAULT_CONFIG, the others STATIC_BROKER_CONFIG.
fn static_broker_configs(
    config: &BrokerConfig,
    detail: Detail,
) -> Vec<DescribeConfigsResourceResult> {
    let builtin = static_entries(&BrokerConfig::new(std::path::PathBuf::new()));
    let mut out = Vec::new();
    for (name, value, config_type, doc) in static_entries(config) {
        let default = builtin.iter().any(|b| b.0 == name && b.1 == value);
        let source = match default && name != "node.id" {
            true => Source::Default,
            false => Source::StaticBroker,
        };
        let synonyms = match detail.synonyms {
            true => vec![synonym(name, &value, source)],
            false => Vec::new(),
        };
        out.push(
            broker_entry((name, value, config_type, doc), source, true, detail)
                .with_synonyms(synonyms),
        );
    }
    out
}

fn broker_entry(
    (name, value, config_type, doc): BrokerEntry,
    source: Source,
    read_only: bool,
    detail: Detail,
) -> DescribeConfigsResourceResult {
    entry(name, &value, source, read_only)
        .with_config_type(if detail.types { config_type as i8 } else { 0 })
        .with_documentation(detail.documentation.then(|| str_bytes(doc)))
}

fn static_entries(config: &BrokerConfig) -> Vec<BrokerEntry> {
    vec![
        (
            "node.id",
            config.id.to_string(),
            ConfigType::Int,
            "This broker's id.",
        ),
        (
            "num.partitions",
            config.num_partitions.to_string(),
            ConfigType::Int,
            "Partitions of a topic created without a count.",
        ),
        (
            "default.replication.factor",
            config.default_replication_factor.to_string(),
            ConfigType::Int,
            "Replication factor of a topic created without one.",
        ),
        (
            "auto.create.topics.enable",
            config.auto_create_topics.to_string(),
            ConfigType::Boolean,
            "Whether Metadata and Produce create unknown topics.",
        ),
        (
            "socket.request.max.bytes",
            config.max_request_bytes.to_string(),
            ConfigType::Int,
            "Largest request accepted.",
        ),
        (
            "log.retention.check.interval.ms",
            config.retention_check_interval.as_millis().to_string(),
            ConfigType::Long,
            "How often retention deletes old segments.",
        ),
    ]
}
