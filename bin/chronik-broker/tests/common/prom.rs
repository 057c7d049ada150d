//! A tiny Prometheus text-format (0.0.4) checker and a `/metrics` scraper for tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Samples by series (`name{labels}` as written) and the declared type of each family.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: BTreeMap<String, f64>,
    pub types: BTreeMap<String, String>,
}

impl Exposition {
    /// The sum over every series of `name` (all label sets), if any exist.
    pub fn sum(&self, name: &str) -> Option<f64> {
        let values: Vec<f64> = (self.samples.iter())
            .filter(|(series, _)| {
                series.as_str() == name || series.starts_with(&format!("{name}{{"))
            })
            .map(|(_, v)| *v)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }
}

/// Parses Prometheus text, failing on any line that is not a comment, a `# TYPE`/`# HELP`
/// line, or `name{label="value",...} number`.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| format!("line {}: {why}: {line}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| bad("TYPE without a type"))?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(bad("unknown type"));
            }
            check_name(name).map_err(|e| bad(&e))?;
            out.types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').ok_or_else(|| bad("no value"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| bad("value is not a number"))?,
        };
        let name = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels
                    .strip_suffix('}')
                    .ok_or_else(|| bad("unclosed labels"))?;
                check_labels(labels).map_err(|e| bad(&e))?;
                name
            }
            None => series,
        };
        check_name(name).map_err(|e| bad(&e))?;
        out.samples.insert(series.to_owned(), value);
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = name.chars().enumerate().all(|(i, c)| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
    });
    if ok && !name.is_empty() {
        Ok(())
    } else {
        Err(format!("bad metric name '{name}'"))
    }
}

fn check_labels(labels: &str) -> Result<(), String> {
    let mut rest = labels;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").ok_or("label without =\"")?;
        check_name(name)?;
        // The value runs to the next unescaped quote.
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let end = end.ok_or("unterminated label value")?;
        rest = after[end + 1..]
            .strip_prefix(',')
            .unwrap_or(&after[end + 1..]);
    }
    Ok(())
}

/// `GET /metrics` on `addr` (HTTP/1.0), returning the body, or `None` when nothing answers.
pub fn scrape(addr: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_owned())
}

/// Scrapes and parses until `ready` holds or `timeout` passes (then panics with the body).
pub fn scrape_until(
    addr: &str,
    timeout: Duration,
    ready: impl Fn(&Exposition) -> bool,
) -> Exposition {
    let deadline = Instant::now() + timeout;
    loop {
        let body = scrape(addr).unwrap_or_default();
        let parsed = parse(&body).unwrap_or_else(|e| panic!("not Prometheus text: {e}\n{body}"));
        if ready(&parsed) {
            return parsed;
        }
        assert!(
            Instant::now() < deadline,
            "metrics at {addr} never became ready:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
