//! Broker registrations and listeners as the controller service carries them
//! (RegisterBroker, Status).

use super::pb::{Endpoint, RegisterBrokerRequest};
use crate::controller::BrokerRegistration;
use crate::{Broker, BrokerEndpoint, MAX_ENDPOINTS, Uuid};

/// `reg` as a request carries it.
pub fn register_broker_request(reg: &BrokerRegistration) -> RegisterBrokerRequest {
    RegisterBrokerRequest {
        broker_id: reg.broker_id,
        incarnation_id: reg.incarnation.0.to_vec(),
        host: reg.host.clone(),
        port: u32::from(reg.port),
        rack: reg.rack.clone(),
        endpoints: (reg.endpoints.iter()).map(endpoint_info).collect(),
    }
}

/// The registration a request carries, or why it cannot be one. Only the field types are
/// checked here; the controller checks the values (names, hosts, limits) as it decides.
pub fn broker_registration(req: RegisterBrokerRequest) -> Result<BrokerRegistration, String> {
    let port = |what: &str, port: u32| {
        u16::try_from(port).map_err(|_| format!("{what} port {port} is out of range"))
    };
    // Checked here too so that a huge request converts nothing before being refused.
    if req.endpoints.len() > MAX_ENDPOINTS {
        return Err(format!(
            "{} endpoints is more than {MAX_ENDPOINTS}",
            req.endpoints.len()
        ));
    }
    let endpoints = (req.endpoints.into_iter())
        .map(|e| {
            Ok(BrokerEndpoint {
                port: port(&format!("listener {}", e.name), e.port)?,
                name: e.name,
                host: e.host,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(BrokerRegistration {
        broker_id: req.broker_id,
        incarnation: Uuid::from_field("incarnation_id", &req.incarnation_id)
            .map_err(|e| e.to_string())?,
        host: req.host,
        port: port("broker", req.port)?,
        rack: req.rack,
        endpoints,
    })
}

/// A listener as requests and status answers carry it.
pub fn endpoint_info(e: &BrokerEndpoint) -> Endpoint {
    Endpoint {
        name: e.name.clone(),
        host: e.host.clone(),
        port: u32::from(e.port),
    }
}

/// Every listener of `broker`, for a status answer.
pub(crate) fn broker_endpoints(broker: &Broker) -> Vec<Endpoint> {
    broker.endpoints.iter().map(endpoint_info).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RegisterBrokerRequest {
        RegisterBrokerRequest {
            broker_id: 2,
            incarnation_id: vec![7; 16],
            host: "10.0.0.2".into(),
            port: 9092,
            rack: None,
            endpoints: vec![
                Endpoint {
                    name: "INTERNAL".into(),
                    host: "10.0.0.2".into(),
                    port: 9092,
                },
                Endpoint {
                    name: "EXTERNAL".into(),
                    host: "kafka-2.example".into(),
                    port: 19092,
                },
            ],
        }
    }

    #[test]
    fn registrations_round_trip_through_requests() {
        let reg = broker_registration(request()).expect("a valid request");
        assert_eq!(reg.endpoints.len(), 2);
        assert_eq!(reg.endpoints[1].port, 19092);
        assert_eq!(register_broker_request(&reg), request());
    }

    #[test]
    fn out_of_range_fields_are_refused_with_the_reason() {
        let mut bad = request();
        bad.endpoints[1].port = 70_000;
        let err = broker_registration(bad).expect_err("port out of range");
        assert!(err.contains("EXTERNAL") && err.contains("70000"), "{err}");
        let mut many = request();
        many.endpoints = vec![many.endpoints[0].clone(); MAX_ENDPOINTS + 1];
        assert!(broker_registration(many).is_err());
        let short = RegisterBrokerRequest {
            incarnation_id: vec![1; 3],
            ..request()
        };
        assert!(broker_registration(short).is_err());
    }
}
