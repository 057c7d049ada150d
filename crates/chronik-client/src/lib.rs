//! A small async Kafka client built on `chronik-kafka`'s codecs: bootstrap and metadata, one
//! pipelined connection per broker with ApiVersions negotiation, a batching producer (acks
//! 0/1/all, every compression codec, idempotence, retries), a fetch consumer of assigned
//! partitions, a consumer-group member (classic protocol, range assignor), memberless offset
//! commits and fetches (`GroupOffsets`), and admin calls, in the clear or over TLS and SASL
//! (PLAIN, SCRAM). Bench, status and tests use it; it is not a full Kafka client.
//!
//! Nothing a server sends can make it panic or allocate by an announced size: response frames
//! are bounded by `max_response_bytes`, array counts are checked against the bytes present (see
//! `guard`), and record batches are parsed with every length checked.

mod admin;
mod cluster;
mod conn;
mod consumer;
mod error;
mod group;
mod guard;
mod pool;
mod producer;
pub mod records;
mod sasl;
mod versions;

pub use admin::Created;
pub use cluster::{Client, ClientConfig, ClusterMeta, PartitionMeta};
pub use conn::{ConnConfig, Connection};
pub use consumer::{Consumer, ConsumerConfig, StartAt, list_offset};
pub use error::{ClientError, Result};
pub use group::{GroupConfig, GroupConsumer, GroupOffsets};
pub use producer::{Acks, Compression, Delivery, Outcome, Producer, ProducerConfig, Written};
pub use sasl::{SaslConfig, SaslMechanism};
pub use versions::{BrokerVersions, CLIENT_RANGES};
