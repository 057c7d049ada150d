//! `chronik-meta users ...`: SCRAM users through the controller service. Changes go to the
//! leader; the password comes from stdin and never leaves this process: only a random salt
//! and the keys SCRAM derives from it are sent.

use anyhow::{Context, bail};
use chronik_auth::{ScramCredential, ScramMechanism};
use chronik_cli::OutputFormat;
use chronik_metadata::grpc::pb::{
    AlterScramCredentialsRequest, DescribeScramCredentialsRequest, ScramUserCredentials,
};
use chronik_metadata::grpc::scram_alteration_request;
use chronik_metadata::{ErrorKind, ScramAlteration};
use serde_json::json;

use crate::cli::{MetaArgs, UsersCommand};

pub async fn users(cmd: UsersCommand, output: OutputFormat) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Add {
            meta,
            name,
            mechanism,
            password_stdin: _,
            iterations,
        } => {
            chronik_metadata::scram::check_user(&name)?;
            let password = chronik_cli::secret::read_secret_line(std::io::stdin().lock())?;
            let credential = derive(mechanism, &password, iterations)?;
            drop(password);
            let what = format!(
                "set the {} credential of user '{name}' ({iterations} iterations)",
                mechanism.name()
            );
            let alteration = ScramAlteration::Upsert {
                user: name,
                credential,
            };
            alter(&meta, &alteration).await?;
            report(&what, output)
        }
        UsersCommand::Delete {
            meta,
            name,
            mechanism,
        } => {
            let what = format!(
                "deleted the {} credential of user '{name}'",
                mechanism.name()
            );
            let alteration = ScramAlteration::Delete {
                user: name,
                mechanism,
            };
            alter(&meta, &alteration).await?;
            report(&what, output)
        }
        UsersCommand::List { meta } => {
            let request = DescribeScramCredentialsRequest { users: Vec::new() };
            let response = meta
                .client()?
                .call(|mut c| {
                    let request = request.clone();
                    async move { c.describe_scram_credentials(request).await }
                })
                .await
                .context("cannot list the SCRAM users")?;
            print_users(&response.users, output)
        }
    }
}

/// The credential of `password` under a fresh random salt.
fn derive(
    mechanism: ScramMechanism,
    password: &str,
    iterations: u32,
) -> anyhow::Result<ScramCredential> {
    ScramCredential::with_random_salt(mechanism, password.as_bytes(), iterations)
        .context("cannot derive the SCRAM credential")
}

async fn alter(meta: &MetaArgs, alteration: &ScramAlteration) -> anyhow::Result<()> {
    let request = AlterScramCredentialsRequest {
        alterations: vec![scram_alteration_request(alteration)],
    };
    let response = meta
        .client()?
        .call(|mut c| {
            let request = request.clone();
            async move { c.alter_scram_credentials(request).await }
        })
        .await
        .with_context(|| format!("cannot change the credential {}", alteration.label()))?;
    let Some(result) = response.results.first() else {
        bail!("the quorum answered nothing; check that every meta node runs the same version");
    };
    if result.error != 0 {
        let kind = ErrorKind::try_from(result.error)
            .map(|k| k.as_str_name().to_owned())
            .unwrap_or_else(|_| format!("error kind {}", result.error));
        bail!("{} ({kind})", result.error_message);
    }
    Ok(())
}

fn report(what: &str, output: OutputFormat) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => chronik_cli::print_json(&json!({ "done": what }))?,
        OutputFormat::Table => println!("{what}"),
    }
    Ok(())
}

fn mechanism_name(id: i32) -> String {
    (i8::try_from(id).ok())
        .and_then(ScramMechanism::from_kafka_id)
        .map_or_else(|| format!("mechanism {id}"), |m| m.name().to_owned())
}

fn print_users(users: &[ScramUserCredentials], output: OutputFormat) -> anyhow::Result<()> {
    let rows = (users.iter()).flat_map(|u| {
        (u.credentials.iter()).map(|c| (u.user.clone(), mechanism_name(c.mechanism), c.iterations))
    });
    match output {
        OutputFormat::Json => {
            let items: Vec<_> = rows
                .map(|(user, mechanism, iterations)| {
                    json!({"user": user, "mechanism": mechanism, "iterations": iterations})
                })
                .collect();
            chronik_cli::print_json(&items)?;
        }
        OutputFormat::Table => {
            let mut table = chronik_cli::table(["user", "mechanism", "iterations"]);
            for (user, mechanism, iterations) in rows {
                table.add_row(vec![user, mechanism, iterations.to_string()]);
            }
            println!("{table}");
        }
    }
    Ok(())
}
