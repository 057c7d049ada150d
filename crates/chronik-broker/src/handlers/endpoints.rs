//! The metadata names each broker by the address of its first listener; a client that
//! connected to another listener is told this broker's address on that listener instead.

use chronik_kafka::kafka_protocol::messages::{
    DescribeClusterResponse, FindCoordinatorResponse, MetadataResponse,
};

use super::str_bytes;
use crate::accept::Listener;

/// This broker's address on `listener` when it differs from the registered one.
fn own_address(listener: &Listener) -> Option<&(String, u16)> {
    (listener.advertised != listener.registered).then_some(&listener.advertised)
}

pub(crate) fn metadata(response: &mut MetadataResponse, me: i32, on: &Listener) {
    if let Some((host, port)) = own_address(on) {
        for b in response.brokers.iter_mut().filter(|b| b.node_id.0 == me) {
            b.host = str_bytes(host);
            b.port = i32::from(*port);
        }
    }
}

pub(crate) fn describe_cluster(response: &mut DescribeClusterResponse, me: i32, on: &Listener) {
    if let Some((host, port)) = own_address(on) {
        for b in response.brokers.iter_mut().filter(|b| b.broker_id.0 == me) {
            b.host = str_bytes(host);
            b.port = i32::from(*port);
        }
    }
}

pub(crate) fn find_coordinator(response: &mut FindCoordinatorResponse, me: i32, on: &Listener) {
    if let Some((host, port)) = own_address(on) {
        if response.node_id.0 == me {
            response.host = str_bytes(host);
            response.port = i32::from(*port);
        }
        for c in response
            .coordinators
            .iter_mut()
            .filter(|c| c.node_id.0 == me)
        {
            c.host = str_bytes(host);
            c.port = i32::from(*port);
        }
    }
}
