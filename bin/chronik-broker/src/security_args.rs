//! Listener and security flags: Kafka's `listeners`, `advertised.listeners`,
//! `listener.security.protocol.map`, the TLS files and the SASL mechanisms.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use chronik_auth::acl::AuthorizerConfig;
use chronik_auth::tls::TlsFiles;
use chronik_broker::{BrokerConfig, SaslMechanism, parse_listeners};
use clap::Args;

#[derive(Args, Debug, Default)]
pub struct SecurityArgs {
    /// Listeners in Kafka's format, replacing --listen: PROTOCOL://HOST:PORT or
    /// NAME://HOST:PORT with --listener-security-protocol-map; protocols are PLAINTEXT, SSL,
    /// SASL_PLAINTEXT and SASL_SSL; an empty host binds every interface. Every listener is
    /// registered, and clients are told each broker's address on the listener they came in
    /// on; other brokers reach this one through the first.
    #[arg(long, env = "CHRONIK_LISTENERS")]
    pub listeners: Option<String>,
    /// NAME:PROTOCOL pairs, comma-separated, for named listeners (e.g.
    /// INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL).
    #[arg(long, env = "CHRONIK_LISTENER_SECURITY_PROTOCOL_MAP")]
    pub listener_security_protocol_map: Option<String>,
    /// NAME://HOST:PORT per listener: the address its clients are told to dial (default:
    /// the bound address).
    #[arg(long, env = "CHRONIK_ADVERTISED_LISTENERS")]
    pub advertised_listeners: Option<String>,
    /// PEM certificate chain of the SSL and SASL_SSL listeners (reloaded on SIGHUP).
    #[arg(long, env = "CHRONIK_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (reloaded on SIGHUP).
    #[arg(long, env = "CHRONIK_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM CAs of client certificates: SSL listeners then require one, and the client is
    /// User:<subject CN>.
    #[arg(long, env = "CHRONIK_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Encrypt this broker's connections to the rest of the cluster: gRPC to the meta nodes
    /// and replication to other brokers go over TLS, presenting --tls-cert and trusting
    /// --tls-client-ca. The first listener (replication) must then be SSL; the meta nodes run
    /// with their own --tls-* flags.
    #[arg(long, env = "CHRONIK_CLUSTER_TLS", default_value_t = false)]
    pub cluster_tls: bool,
    /// SASL mechanisms the SASL listeners offer, comma-separated: SCRAM-SHA-512,
    /// SCRAM-SHA-256, PLAIN (PLAIN sends the password itself: use it over SASL_SSL).
    #[arg(
        long,
        env = "CHRONIK_SASL_MECHANISMS",
        default_value = "SCRAM-SHA-512,SCRAM-SHA-256"
    )]
    pub sasl_mechanisms: String,
    /// A SASL session lasts this long; the client then re-authenticates on the same
    /// connection or is disconnected (Kafka's connections.max.reauth.ms; 0 = never).
    #[arg(long, env = "CHRONIK_CONNECTIONS_MAX_REAUTH_MS", default_value_t = 0)]
    pub connections_max_reauth_ms: u64,
    /// `acl` checks every request against the ACLs in the metadata (CreateAcls, DescribeAcls,
    /// DeleteAcls manage them); `none` (default) lets every client do everything.
    #[arg(long, env = "CHRONIK_AUTHORIZER", value_enum, default_value_t = Authorizer::None)]
    pub authorizer: Authorizer,
    /// Principals the ACL authorizer allows everything, ';'-separated (e.g.
    /// 'User:admin;User:broker').
    #[arg(long, env = "CHRONIK_SUPER_USERS", default_value = "")]
    pub super_users: String,
    /// With --authorizer acl, allow everyone on resources no ACL covers (Kafka's
    /// allow.everyone.if.no.acl.found).
    #[arg(
        long,
        env = "CHRONIK_ALLOW_EVERYONE_IF_NO_ACL_FOUND",
        default_value_t = false
    )]
    pub allow_everyone_if_no_acl_found: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Authorizer {
    #[default]
    None,
    Acl,
}

impl SecurityArgs {
    /// Applies the flags to `config`, refusing combinations that cannot work.
    pub fn apply(self, config: &mut BrokerConfig) -> anyhow::Result<()> {
        config.authorizer = self.authorizer_config()?;
        if let Some(text) = &self.listeners {
            if config.advertise.is_some() {
                bail!(
                    "--advertise goes with --listen; with --listeners use --advertised-listeners"
                );
            }
            config.listeners = parse_listeners(
                text,
                self.listener_security_protocol_map.as_deref(),
                self.advertised_listeners.as_deref(),
            )
            .map_err(anyhow::Error::msg)
            .context("--listeners")?;
        } else if self.listener_security_protocol_map.is_some()
            || self.advertised_listeners.is_some()
        {
            bail!("--listener-security-protocol-map and --advertised-listeners need --listeners");
        }
        config.tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert,
                key,
                client_ca: self.tls_client_ca,
            }),
            (None, None) if self.tls_client_ca.is_none() => None,
            _ => bail!("--tls-cert and --tls-key go together (and --tls-client-ca needs both)"),
        };
        let uses_tls = config.listeners.iter().any(|l| l.protocol.tls());
        if config.tls.is_some() && !uses_tls && !self.cluster_tls {
            bail!("--tls-cert is given but no listener is SSL or SASL_SSL; add one to --listeners");
        }
        if self.cluster_tls && config.tls.as_ref().is_none_or(|t| t.client_ca.is_none()) {
            bail!(
                "--cluster-tls needs --tls-cert, --tls-key and --tls-client-ca (the CA that \
                 signs every node's certificate)"
            );
        }
        config.cluster_tls = self.cluster_tls;
        config.sasl_mechanisms = parse_mechanisms(&self.sasl_mechanisms)?;
        config.connections_max_reauth = (self.connections_max_reauth_ms > 0)
            .then(|| Duration::from_millis(self.connections_max_reauth_ms));
        Ok(())
    }

    fn authorizer_config(&self) -> anyhow::Result<Option<AuthorizerConfig>> {
        let super_users: Vec<String> = (self.super_users.split(';'))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if let Some(bad) = super_users
            .iter()
            .find(|u| !u.starts_with("User:") || u.len() < 6)
        {
            bail!("--super-users: '{bad}' is not User:<name>");
        }
        match self.authorizer {
            Authorizer::Acl => Ok(Some(AuthorizerConfig {
                super_users,
                allow_if_no_acl: self.allow_everyone_if_no_acl_found,
            })),
            Authorizer::None if !super_users.is_empty() || self.allow_everyone_if_no_acl_found => {
                bail!("--super-users and --allow-everyone-if-no-acl-found need --authorizer acl")
            }
            Authorizer::None => Ok(None),
        }
    }
}

fn parse_mechanisms(text: &str) -> anyhow::Result<Vec<SaslMechanism>> {
    let mut out = Vec::new();
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some(m) = SaslMechanism::from_name(name) else {
            bail!("--sasl-mechanisms: {name} is not SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN");
        };
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if out.is_empty() {
        bail!("--sasl-mechanisms names no mechanism");
    }
    Ok(out)
}
