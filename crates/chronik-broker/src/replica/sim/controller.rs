//! The controller, reduced to one partition but deciding with the real rules of
//! `chronik_metadata::controller`: sessions (a broker not heard from within the session is
//! fenced, which elects a new leader from the live ISR or leaves the partition offline),
//! registration of restarted brokers, AlterPartition and preferred leader elections.

use std::collections::BTreeMap;

use chronik_metadata::controller::{
    self, AlterPartitionRequest, BrokerRegistration, Decision, preferred_leader_elections,
};
use chronik_metadata::proto::{CreateTopic, PartitionAssignment};
use chronik_metadata::{
    BrokerId, ControllerError, MetadataRecord, MetadataState, PartitionState, Record, Uuid,
};

pub(super) const TOPIC: Uuid = Uuid([7; 16]);

pub(super) struct Controller {
    state: MetadataState,
    /// Last heartbeat tick per broker.
    last_heard: BTreeMap<BrokerId, u64>,
    pub leader_changes: u64,
    pub fences: u64,
}

fn registration(id: BrokerId, incarnation: u8) -> BrokerRegistration {
    let mut uuid = [incarnation; 16];
    uuid[0] = id as u8;
    BrokerRegistration {
        broker_id: id,
        incarnation: Uuid(uuid),
        host: format!("broker-{id}"),
        port: 9092,
        rack: None,
        endpoints: Vec::new(),
    }
}

impl Controller {
    /// Every broker registered and live; one partition replicated on all, led by the first.
    pub fn new(brokers: &[BrokerId]) -> Self {
        let mut c = Controller {
            state: MetadataState::new(),
            last_heard: brokers.iter().map(|id| (*id, 0)).collect(),
            leader_changes: 0,
            fences: 0,
        };
        for &id in brokers {
            c.commit(|s| controller::register_broker(s, &registration(id, 0)))
                .expect("register");
            c.commit(|s| controller::unfence_broker(s, id))
                .expect("unfence");
        }
        let create = MetadataRecord::new(Record::CreateTopic(CreateTopic {
            name: "sim".into(),
            topic_id: TOPIC.0.to_vec(),
            partitions: vec![PartitionAssignment {
                partition_index: 0,
                replicas: brokers.to_vec(),
                leader: brokers[0],
                isr: brokers.to_vec(),
            }],
            configs: BTreeMap::new(),
        }));
        c.state.apply(&create).expect("create the topic");
        c
    }

    /// Applies a decision; returns whether the partition changed.
    fn commit(
        &mut self,
        decide: impl FnOnce(&MetadataState) -> Decision,
    ) -> Result<bool, ControllerError> {
        let before = self
            .state
            .topic(&TOPIC)
            .and_then(|t| t.partition(0))
            .cloned();
        for record in decide(&self.state)? {
            self.state
                .apply(&record)
                .expect("a decision applies to the state it was made on");
        }
        let after = self
            .state
            .topic(&TOPIC)
            .and_then(|t| t.partition(0))
            .cloned();
        if let (Some(b), Some(a)) = (&before, &after)
            && b.leader != a.leader
        {
            self.leader_changes += 1;
        }
        Ok(before != after)
    }

    pub fn partition(&self) -> PartitionState {
        self.state
            .topic(&TOPIC)
            .and_then(|t| t.partition(0))
            .cloned()
            .expect("the partition exists")
    }

    /// The incarnation registered for `id`.
    pub fn incarnation(&self, id: BrokerId) -> Option<u8> {
        self.state.broker(id).map(|b| b.incarnation.0[1])
    }

    /// A heartbeat: a new incarnation registers (moving leadership away from the old one), a
    /// fenced broker is unfenced. Returns whether the partition changed.
    pub fn heartbeat(&mut self, id: BrokerId, incarnation: u8, now: u64) -> bool {
        self.last_heard.insert(id, now);
        let reg = registration(id, incarnation);
        let known = self.state.broker(id).map(|b| b.incarnation);
        let mut changed = false;
        if known != Some(reg.incarnation) {
            changed |= self
                .commit(|s| controller::register_broker(s, &reg))
                .expect("register");
        }
        if !self.state.is_live(id) {
            changed |= self
                .commit(|s| controller::unfence_broker(s, id))
                .expect("unfence");
        }
        changed
    }

    /// Fences every live broker silent for longer than `session` ticks.
    pub fn expire_sessions(&mut self, now: u64, session: u64) -> bool {
        let silent: Vec<BrokerId> = (self.last_heard.iter())
            .filter(|(id, at)| now - **at > session && self.state.is_live(**id))
            .map(|(id, _)| *id)
            .collect();
        let mut changed = false;
        for id in silent {
            self.fences += 1;
            changed |= self
                .commit(|s| controller::fence_broker(s, id))
                .expect("fence");
        }
        changed
    }

    /// AlterPartition; `Err` when refused.
    pub fn alter(&mut self, req: &AlterPartitionRequest) -> Result<bool, ControllerError> {
        self.commit(|s| controller::alter_partition(s, req))
    }

    pub fn preferred_elections(&mut self) -> bool {
        self.commit(|s| Ok(preferred_leader_elections(s)))
            .expect("preferred elections")
    }
}
