//! `chronik-broker users ...`: SCRAM users in the embedded metadata of a stopped broker's
//! data dir. The password comes from stdin and is never printed or logged; only a random salt
//! and the keys SCRAM derives from it are stored.

use anyhow::{Context, bail};
use chronik_auth::{ScramCredential, ScramMechanism};
use chronik_broker::OfflineMetadata;
use chronik_broker_bin::cli::users::{DataDirArgs, UsersCommand};
use chronik_cli::OutputFormat;
use chronik_metadata::ScramAlteration;

/// One row of `users list`.
#[derive(serde::Serialize)]
struct UserRow {
    user: String,
    mechanism: &'static str,
    iterations: u32,
}

pub async fn run(cmd: UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Add(args) => {
            chronik_metadata::scram::check_user(&args.name)?;
            // Read and derive before the data dir is touched: bad input writes nothing.
            let password = chronik_cli::secret::read_secret_line(std::io::stdin().lock())?;
            let credential = derive(args.mechanism, &password, args.iterations)?;
            drop(password);
            let what = format!(
                "set the {} credential of user '{}' ({} iterations)",
                args.mechanism.name(),
                args.name,
                args.iterations
            );
            let user = args.name;
            alter(&args.dir, ScramAlteration::Upsert { user, credential }).await?;
            report(&args.dir, &what)
        }
        UsersCommand::Delete(args) => {
            let what = format!(
                "deleted the {} credential of user '{}'",
                args.mechanism.name(),
                args.name
            );
            let alteration = ScramAlteration::Delete {
                user: args.name,
                mechanism: args.mechanism,
            };
            alter(&args.dir, alteration).await?;
            report(&args.dir, &what)
        }
        UsersCommand::List(dir) => {
            let meta = open(&dir).await?;
            let mut rows = Vec::new();
            meta.with_metadata(&mut |s| {
                rows = (s.scram_credentials().iter())
                    .map(|(user, c)| UserRow {
                        user: user.to_owned(),
                        mechanism: c.mechanism.name(),
                        iterations: c.iterations,
                    })
                    .collect();
            });
            meta.close().await;
            print_users(&rows, dir.output)
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

async fn open(dir: &DataDirArgs) -> anyhow::Result<OfflineMetadata> {
    OfflineMetadata::open(&dir.data_dir, dir.id)
        .await
        .with_context(|| {
            format!(
                "cannot open the embedded metadata of {}",
                dir.data_dir.display()
            )
        })
}

async fn alter(dir: &DataDirArgs, alteration: ScramAlteration) -> anyhow::Result<()> {
    let meta = open(dir).await?;
    let outcome = meta.alter_scram_credentials(&[alteration]).await;
    // Closed either way, so what was committed is on disk before the process exits.
    meta.close().await;
    match outcome?.into_iter().next() {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(e.into()),
        None => bail!("the metadata quorum answered nothing; try again"),
    }
}

fn report(dir: &DataDirArgs, what: &str) -> anyhow::Result<()> {
    match dir.output {
        OutputFormat::Json => chronik_cli::print_json(&done_json(what))?,
        OutputFormat::Table => println!("{what}"),
    }
    Ok(())
}

/// `{"done": WHAT}`, the JSON form of a change's report.
fn done_json(what: &str) -> std::collections::BTreeMap<&'static str, &str> {
    std::collections::BTreeMap::from([("done", what)])
}

/// Prints users, mechanisms and iteration counts; shared with nothing secret.
fn print_users(rows: &[UserRow], output: OutputFormat) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => chronik_cli::print_json(&rows)?,
        OutputFormat::Table => {
            let mut table = chronik_cli::table(["user", "mechanism", "iterations"]);
            for r in rows {
                table.add_row(vec![
                    r.user.clone(),
                    r.mechanism.to_owned(),
                    r.iterations.to_string(),
                ]);
            }
            println!("{table}");
        }
    }
    Ok(())
}
