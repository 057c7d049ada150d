//! How the benchmarks reach a secured listener, with Kafka clients' setting names:
//! `--security-protocol`, `--ssl-ca-location`, `--sasl-mechanism`, ...

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chronik_client::{ClientConfig, SaslConfig, SaslMechanism};

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

/// Security settings of the connections to the broker.
#[derive(Debug, Clone, clap::Args)]
pub struct SecurityArgs {
    /// The listener's protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    #[arg(long, value_enum, default_value_t = SecurityProtocol::Plaintext)]
    pub security_protocol: SecurityProtocol,
    /// PEM CA certificates that sign the brokers' certificates (SSL, SASL_SSL). The
    /// certificates must name the brokers' IP addresses.
    #[arg(long)]
    pub ssl_ca_location: Option<PathBuf>,
    /// PEM client certificate, for SSL listeners that require one (with --ssl-key-location).
    #[arg(long, requires = "ssl_key_location")]
    pub ssl_certificate_location: Option<PathBuf>,
    /// PEM private key of --ssl-certificate-location.
    #[arg(long, requires = "ssl_certificate_location")]
    pub ssl_key_location: Option<PathBuf>,
    /// SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN (SASL_PLAINTEXT, SASL_SSL).
    #[arg(long, default_value = "SCRAM-SHA-512")]
    pub sasl_mechanism: String,
    /// SASL user name.
    #[arg(long)]
    pub sasl_username: Option<String>,
    /// SASL password (prefer the variable: a flag shows in the process list).
    #[arg(long, env = "CHRONIK_SASL_PASSWORD", hide_env_values = true)]
    pub sasl_password: Option<String>,
}

impl SecurityArgs {
    /// Sets `cfg`'s TLS and SASL from the flags, refusing combinations that cannot work.
    pub fn apply(&self, cfg: &mut ClientConfig) -> Result<()> {
        let (tls, sasl) = match self.security_protocol {
            SecurityProtocol::Plaintext => (false, false),
            SecurityProtocol::Ssl => (true, false),
            SecurityProtocol::SaslPlaintext => (false, true),
            SecurityProtocol::SaslSsl => (true, true),
        };
        if tls {
            let Some(ca) = &self.ssl_ca_location else {
                bail!(
                    "--security-protocol {:?} needs --ssl-ca-location",
                    self.security_protocol
                );
            };
            let identity =
                (self.ssl_certificate_location.as_deref()).zip(self.ssl_key_location.as_deref());
            let config = chronik_auth::tls::client_config_for(ca, identity)
                .context("cannot load the TLS settings")?;
            cfg.tls = Some(config);
        } else if self.ssl_ca_location.is_some() || self.ssl_certificate_location.is_some() {
            bail!("--ssl-* settings need --security-protocol SSL or SASL_SSL");
        }
        if sasl {
            let mechanism = SaslMechanism::from_name(&self.sasl_mechanism).with_context(|| {
                format!(
                    "--sasl-mechanism {} is not SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN",
                    self.sasl_mechanism
                )
            })?;
            let (Some(username), Some(password)) = (&self.sasl_username, &self.sasl_password)
            else {
                bail!("SASL needs --sasl-username and --sasl-password (or CHRONIK_SASL_PASSWORD)");
            };
            cfg.sasl = Some(SaslConfig {
                mechanism,
                username: username.clone(),
                password: password.clone(),
            });
        } else if self.sasl_username.is_some() {
            bail!("--sasl-username needs --security-protocol SASL_PLAINTEXT or SASL_SSL");
        }
        Ok(())
    }
}
