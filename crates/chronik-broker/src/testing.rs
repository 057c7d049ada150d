//! What unit tests across the broker share.

use chronik_metadata::proto::RegisterBroker;
use chronik_metadata::{MetadataRecord, MetadataState, Record};

/// A metadata state with brokers `ids` registered.
pub(crate) fn registered(ids: &[i32]) -> MetadataState {
    let mut state = MetadataState::new();
    for &id in ids {
        let register = Record::RegisterBroker(RegisterBroker {
            broker_id: id,
            incarnation_id: vec![u8::try_from(id).unwrap_or(u8::MAX); 16],
            host: "127.0.0.1".into(),
            port: 9092,
            rack: None,
            endpoints: Vec::new(),
        });
        state
            .apply(&MetadataRecord::new(register))
            .expect("register");
    }
    state
}
