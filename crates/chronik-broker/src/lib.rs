//! Chronik's broker: serves the Kafka protocol over TCP from partition logs in a data dir,
//! with topic metadata kept by a metadata node (embedded, single voter, in-process).
//!
//! [`Broker::start`] opens the data dir, starts the metadata node, registers this broker with
//! it and binds the Kafka listener; [`Broker::serve`] then accepts connections until the given
//! shutdown future resolves, finishes in-flight requests and closes everything cleanly.

mod accept;
mod broker;
mod cleaner;
mod cluster;
mod config;
mod connection;
mod error;
mod fetch_sessions;
mod flexible;
mod groups;
mod handlers;
mod kafka_errors;
mod listeners;
mod metrics;
mod offline;
mod partition;
mod partitions;
mod producer_ids;
mod producers;
mod quotas;
mod replica;
mod response_errors;
mod retention;
mod sasl;
mod services;
#[cfg(test)]
mod testing;
mod tiering;
mod topic_config;
mod transactions;
mod wall_clock;

pub use broker::Broker;
pub use cleaner::CleanerConfig;
pub use config::{BrokerConfig, DEFAULT_FETCH_MAX_BYTES, PartitionSyncer};
pub use error::BrokerError;
pub use handlers::IMPLEMENTED;
pub use listeners::{ListenerConfig, SecurityProtocol, parse_listeners};
pub use offline::OfflineMetadata;
pub use sasl::SaslMechanism;
pub use tiering::RemoteTierConfig;
