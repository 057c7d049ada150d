//! SASL PLAIN (RFC 4616): one message carrying the user and the password.

use crate::{AuthError, Result};

/// A PLAIN message: "[authzid] NUL authcid NUL passwd".
#[derive(Debug, PartialEq, Eq)]
pub struct PlainCredentials {
    pub user: String,
    pub password: Vec<u8>,
}

impl PlainCredentials {
    pub fn parse(message: &[u8]) -> Result<Self> {
        let mut parts = message.split(|b| *b == 0);
        let (Some(authzid), Some(user), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed(
                "SASL PLAIN message must be authzid NUL user NUL password".into(),
            ));
        };
        let user = std::str::from_utf8(user)
            .ok()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| AuthError::Malformed("SASL PLAIN user is empty or not UTF-8".into()))?;
        if !authzid.is_empty() && authzid != user.as_bytes() {
            return Err(AuthError::Refused(
                "an authorization id other than the user is not supported".into(),
            ));
        }
        Ok(PlainCredentials {
            user: user.to_string(),
            password: password.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_messages_parse_and_malformed_ones_are_refused() {
        let parsed = PlainCredentials::parse(b"\0alice\0pw").unwrap();
        assert_eq!(parsed.user, "alice");
        assert_eq!(parsed.password, b"pw");
        assert!(PlainCredentials::parse(b"alice\0alice\0pw").is_ok());
        for bad in [
            &b"bob\0alice\0pw"[..],
            b"\0alice",
            b"\0\0pw",
            b"\0alice\0pw\0x",
            b"\0\xff\0pw",
            b"",
        ] {
            assert!(PlainCredentials::parse(bad).is_err(), "{bad:?}");
        }
    }
}
