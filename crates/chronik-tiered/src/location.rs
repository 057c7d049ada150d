use std::fmt;
use std::path::PathBuf;

use crate::{Result, TieredError};

/// Where a broker keeps its remote tier, as given by `--remote-storage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteLocation {
    /// An S3 bucket (or an S3-compatible server), with an optional key prefix.
    S3 { bucket: String, prefix: String },
    /// A local directory: for a shared file system, and for tests.
    Dir(PathBuf),
}

impl RemoteLocation {
    /// Parses `s3://BUCKET[/PREFIX]` or `file:///ABSOLUTE/PATH`.
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |reason: &str| TieredError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if !valid_bucket(bucket) {
                return Err(bad(
                    "a bucket name is 3 to 63 lowercase letters, digits, dots and hyphens",
                ));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|part| part == "." || part == "..") {
                return Err(bad("the prefix may not contain . or .. parts"));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            });
        }
        if let Some(path) = url.strip_prefix("file://") {
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err(bad("a file location needs an absolute path (file:///...)"));
            }
            return Ok(Self::Dir(path));
        }
        Err(bad("unknown scheme"))
    }
}

fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !name.starts_with(['.', '-'])
        && !name.ends_with(['.', '-'])
}

impl fmt::Display for RemoteLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            Self::Dir(path) => write!(f, "file://{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_and_file_locations_parse_and_print_back() {
        for url in [
            "s3://my-bucket",
            "s3://my.bucket/a/b",
            "file:///var/lib/remote",
        ] {
            assert_eq!(RemoteLocation::parse(url).unwrap().to_string(), url);
        }
        assert_eq!(
            RemoteLocation::parse("s3://bkt/pre/").unwrap(),
            RemoteLocation::S3 {
                bucket: "bkt".into(),
                prefix: "pre".into()
            }
        );
    }

    #[test]
    fn bad_locations_say_what_is_wrong() {
        for (url, says) in [
            ("http://x", "unknown scheme"),
            ("s3://", "bucket name"),
            ("s3://UPPER", "bucket name"),
            ("s3://-bkt", "bucket name"),
            ("s3://bkt/a/../b", ".."),
            ("file://relative/path", "absolute"),
        ] {
            let err = RemoteLocation::parse(url).unwrap_err().to_string();
            assert!(err.contains(says), "{url}: {err}");
        }
    }
}
