//! Secrets given on standard input (`--password-stdin`), so they never appear in a process
//! listing, a shell history or a log.

use std::io::BufRead;

/// Longest secret line read, in bytes: a password, not a file.
pub const MAX_SECRET_LEN: u64 = 4096;

/// Why no secret could be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the password from stdin: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the password on stdin is empty; pipe one line holding it, e.g. `printf '%s\\n' \"$PW\" | ...`"
    )]
    Empty,
    #[error(
        "the password on stdin is longer than {MAX_SECRET_LEN} bytes; give one line holding only it"
    )]
    TooLong,
    #[error("the password on stdin is not UTF-8 text")]
    NotUtf8,
}

/// Reads one line from `input`: the secret without its trailing newline (`\n` or `\r\n`).
/// An empty line, or no input at all, is an error.
pub fn read_secret_line(input: impl BufRead) -> Result<String, SecretError> {
    let mut line = Vec::new();
    // One byte past the limit tells a secret of exactly the limit from a longer one.
    input
        .take(MAX_SECRET_LEN + 1)
        .read_until(b'\n', &mut line)?;
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    } else if line.len() as u64 > MAX_SECRET_LEN {
        return Err(SecretError::TooLong);
    }
    if line.is_empty() {
        return Err(SecretError::Empty);
    }
    String::from_utf8(line).map_err(|_| SecretError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> Result<String, SecretError> {
        read_secret_line(input)
    }

    #[test]
    fn one_line_without_its_newline() {
        assert_eq!(read(b"s3cret\n").expect("read"), "s3cret");
        assert_eq!(read(b"s3cret\r\nmore\n").expect("read"), "s3cret");
        assert_eq!(read(b"no newline").expect("read"), "no newline");
        assert_eq!(read(b" spaces kept \n").expect("read"), " spaces kept ");
    }

    #[test]
    fn empty_long_and_binary_input_is_refused() {
        assert!(matches!(read(b""), Err(SecretError::Empty)));
        assert!(matches!(read(b"\n"), Err(SecretError::Empty)));
        assert!(matches!(read(b"\r\n"), Err(SecretError::Empty)));
        let long = vec![b'a'; MAX_SECRET_LEN as usize + 1];
        assert!(matches!(read(&long), Err(SecretError::TooLong)));
        let exact = vec![b'a'; MAX_SECRET_LEN as usize];
        assert_eq!(read(&exact).expect("at the limit").len(), exact.len());
        assert!(matches!(read(b"\xff\xfe\n"), Err(SecretError::NotUtf8)));
    }
}
