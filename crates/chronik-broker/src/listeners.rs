//! Listeners in Kafka's format: `PROTOCOL://host:port`, or `NAME://host:port` with a map from
//! names to protocols, each advertised to clients under the same name.

use std::collections::HashMap;
use std::fmt;

/// How a listener's connections are secured, as Kafka names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Whether connections start with a TLS handshake.
    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether clients must authenticate with SASL before anything else is served.
    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One listener: where it binds, what it speaks, and what clients are told to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    pub name: String,
    pub protocol: SecurityProtocol,
    /// Host or IP to bind; empty binds every interface.
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// `host:port` for clients; `None` advertises the bound address.
    pub advertised: Option<(String, u16)>,
}

impl ListenerConfig {
    /// The single PLAINTEXT listener `--listen`/`--advertise` describe.
    pub fn plaintext(listen: std::net::SocketAddr, advertised: Option<(String, u16)>) -> Self {
        ListenerConfig {
            name: "PLAINTEXT".into(),
            protocol: SecurityProtocol::Plaintext,
            host: listen.ip().to_string(),
            port: listen.port(),
            advertised,
        }
    }

    /// The address to bind, with an empty host meaning every interface.
    pub fn bind_host(&self) -> &str {
        if self.host.is_empty() {
            "0.0.0.0"
        } else {
            &self.host
        }
    }
}

/// Parses `--listeners`, `--listener-security-protocol-map` and `--advertised-listeners`.
pub fn parse_listeners(
    listeners: &str,
    protocol_map: Option<&str>,
    advertised: Option<&str>,
) -> Result<Vec<ListenerConfig>, String> {
    let map = match protocol_map {
        Some(text) => parse_protocol_map(text)?,
        None => HashMap::new(),
    };
    let mut out: Vec<ListenerConfig> = Vec::new();
    for item in split_list(listeners) {
        let (name, host, port) = parse_endpoint(item)?;
        let protocol = match map.get(&name) {
            Some(p) => *p,
            None if protocol_map.is_none() => {
                SecurityProtocol::from_name(&name).ok_or_else(|| {
                    format!(
                        "listener '{item}': {name} is not a security protocol (PLAINTEXT, SSL, \
                     SASL_PLAINTEXT, SASL_SSL); name it in --listener-security-protocol-map"
                    )
                })?
            }
            None => {
                return Err(format!(
                    "listener '{item}': {name} is missing from --listener-security-protocol-map"
                ));
            }
        };
        if out.iter().any(|l| l.name == name) {
            return Err(format!(
                "listener name {name} is used twice; give each listener its own name and map \
                 the names to protocols with --listener-security-protocol-map"
            ));
        }
        out.push(ListenerConfig {
            name,
            protocol,
            host,
            port,
            advertised: None,
        });
    }
    if out.is_empty() {
        return Err("--listeners names no listener; e.g. PLAINTEXT://127.0.0.1:9092".into());
    }
    for item in advertised.map(split_list).into_iter().flatten() {
        let (name, host, port) = parse_endpoint(item)?;
        let listener = (out.iter_mut().find(|l| l.name == name))
            .ok_or_else(|| format!("advertised listener '{item}': no listener is named {name}"))?;
        if host.is_empty() || port == 0 {
            return Err(format!(
                "advertised listener '{item}' needs a host and a non-zero port"
            ));
        }
        listener.advertised = Some((host, port));
    }
    Ok(out)
}

fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_protocol_map(text: &str) -> Result<HashMap<String, SecurityProtocol>, String> {
    let mut map = HashMap::new();
    for item in split_list(text) {
        let (name, protocol) = item
            .split_once(':')
            .ok_or_else(|| format!("protocol map entry '{item}' is not NAME:PROTOCOL"))?;
        let protocol = SecurityProtocol::from_name(protocol.trim()).ok_or_else(|| {
            format!(
                "protocol map entry '{item}': {protocol} is not PLAINTEXT, SSL, SASL_PLAINTEXT \
                 or SASL_SSL"
            )
        })?;
        let name = check_name(name.trim())?;
        if map.insert(name.clone(), protocol).is_some() {
            return Err(format!("protocol map names {name} twice"));
        }
    }
    Ok(map)
}

/// `NAME://host:port`, `NAME://[v6]:port` or `NAME://:port`.
fn parse_endpoint(item: &str) -> Result<(String, String, u16), String> {
    let bad = || format!("listener '{item}' is not NAME://HOST:PORT");
    let (name, address) = item.split_once("://").ok_or_else(bad)?;
    let name = check_name(name)?;
    let (host, port) = split_host_port(address).ok_or_else(bad)?;
    Ok((name, host, port))
}

/// `host:port` or `[v6]:port` (the host may be empty); `None` if it is neither.
pub(crate) fn split_host_port(address: &str) -> Option<(String, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.strip_suffix(']')?,
        None if host.contains(':') => return None,
        None => host,
    };
    Some((host.to_string(), port.parse::<u16>().ok()?))
}

fn check_name(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(name.to_ascii_uppercase())
    } else {
        Err(format!(
            "listener name '{name}' must be letters, digits, '_' or '-'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_are_listener_names_without_a_map() {
        let parsed = parse_listeners(
            "SASL_SSL://0.0.0.0:9093, PLAINTEXT://127.0.0.1:9092",
            None,
            Some("SASL_SSL://kafka.example:19093"),
        )
        .unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].protocol, SecurityProtocol::SaslSsl);
        assert_eq!(parsed[0].port, 9093);
        assert_eq!(
            parsed[0].advertised,
            Some(("kafka.example".to_string(), 19093))
        );
        assert_eq!(parsed[1].protocol, SecurityProtocol::Plaintext);
        assert_eq!(parsed[1].advertised, None);
    }

    #[test]
    fn named_listeners_take_their_protocol_from_the_map() {
        let parsed = parse_listeners(
            "internal://:9092,external://[::1]:9093",
            Some("INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL"),
            None,
        )
        .unwrap();
        assert_eq!(parsed[0].name, "INTERNAL");
        assert_eq!(parsed[0].bind_host(), "0.0.0.0");
        assert_eq!(parsed[1].protocol, SecurityProtocol::SaslSsl);
        assert_eq!(parsed[1].host, "::1");
    }

    #[test]
    fn bad_listener_specs_say_what_is_wrong() {
        for (listeners, map, advertised) in [
            ("", None, None),
            ("FOO://:9092", None, None),
            ("PLAINTEXT://:9092,PLAINTEXT://:9093", None, None),
            ("A://:9092", Some("B:PLAINTEXT"), None),
            ("A://:9092", Some("A:TLS"), None),
            ("A://:9092", Some("A:PLAINTEXT,A:SSL"), None),
            ("PLAINTEXT://localhost", None, None),
            ("PLAINTEXT://::1:9092", None, None),
            ("PLAINTEXT://:99999", None, None),
            ("PLAIN TEXT://:9092", None, None),
            ("PLAINTEXT://:9092", None, Some("SSL://h:1")),
            ("PLAINTEXT://:9092", None, Some("PLAINTEXT://:1")),
            ("PLAINTEXT://:9092", None, Some("PLAINTEXT://h:0")),
        ] {
            assert!(
                parse_listeners(listeners, map, advertised).is_err(),
                "{listeners} {map:?} {advertised:?}"
            );
        }
    }
}
