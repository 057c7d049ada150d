//! Splitting a byte stream into Kafka frames: a big-endian `i32` size prefix followed by that
//! many bytes. The prefix is checked against the limit before anything is allocated for it, so a
//! peer cannot make the broker reserve memory by announcing a huge frame.

use bytes::{Buf, Bytes, BytesMut};

use crate::{ProtocolError, Result};

/// Size of the length prefix in front of every request and response.
pub const FRAME_PREFIX_LEN: usize = 4;

/// Takes one complete frame (without its prefix) off the front of `buf`.
///
/// Returns `Ok(None)` while the frame is incomplete; the caller reads more and retries. A
/// negative size or one above `max_request_bytes` is an error, reported as soon as the prefix is
/// readable; the caller should close the connection. Never reserves capacity from the prefix.
pub fn try_split_frame(buf: &mut BytesMut, max_request_bytes: usize) -> Result<Option<Bytes>> {
    let Some(len) = peek_frame_len(buf, max_request_bytes)? else {
        return Ok(None);
    };
    if buf.len() - FRAME_PREFIX_LEN < len {
        return Ok(None);
    }
    buf.advance(FRAME_PREFIX_LEN);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Reads and checks the size prefix, if four bytes are available.
///
/// A connection reader can use it to learn how much more it must read before a frame is whole.
pub fn peek_frame_len(buf: &[u8], max_request_bytes: usize) -> Result<Option<usize>> {
    let Some(prefix) = buf.first_chunk::<FRAME_PREFIX_LEN>() else {
        return Ok(None);
    };
    let len = i32::from_be_bytes(*prefix);
    let Ok(len) = usize::try_from(len) else {
        return Err(ProtocolError::NegativeFrameLength { len });
    };
    if len > max_request_bytes {
        return Err(ProtocolError::FrameTooLarge {
            len: len as u64,
            max: max_request_bytes,
        });
    }
    Ok(Some(len))
}

/// Prepends the size prefix to an encoded message. Fails if the body cannot be described by an
/// `i32`, which no sane response reaches.
pub(crate) fn write_prefix(frame: &mut BytesMut) -> Result<usize> {
    let body = frame.len().saturating_sub(FRAME_PREFIX_LEN);
    let len = i32::try_from(body).map_err(|_| ProtocolError::FrameTooLarge {
        len: body as u64,
        max: i32::MAX as usize,
    })?;
    frame[..FRAME_PREFIX_LEN].copy_from_slice(&len.to_be_bytes());
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        b.extend_from_slice(&(body.len() as i32).to_be_bytes());
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn complete_frames_are_split_in_order() {
        let mut buf = framed(b"hello");
        buf.extend_from_slice(&framed(b"xy"));
        assert_eq!(
            try_split_frame(&mut buf, 100).unwrap().unwrap(),
            &b"hello"[..]
        );
        assert_eq!(try_split_frame(&mut buf, 100).unwrap().unwrap(), &b"xy"[..]);
        assert!(buf.is_empty());
        assert_eq!(try_split_frame(&mut buf, 100).unwrap(), None);
    }

    #[test]
    fn partial_frames_wait_at_every_length() {
        let whole = framed(b"abcdefgh");
        for cut in 0..whole.len() {
            let mut buf = BytesMut::from(&whole[..cut]);
            assert_eq!(
                try_split_frame(&mut buf, 100).unwrap(),
                None,
                "cut at {cut}"
            );
            assert_eq!(buf.len(), cut, "nothing consumed at {cut}");
        }
    }

    #[test]
    fn huge_and_negative_prefixes_are_rejected_before_allocation() {
        let mut huge = BytesMut::from(&(i32::MAX).to_be_bytes()[..]);
        let cap = huge.capacity();
        let err = try_split_frame(&mut huge, 100 * 1024 * 1024).unwrap_err();
        assert!(matches!(err, ProtocolError::FrameTooLarge { .. }), "{err}");
        assert_eq!(
            huge.capacity(),
            cap,
            "no capacity reserved for the announced length"
        );

        let mut two_gib = BytesMut::from(&0x8000_0000u32.to_be_bytes()[..]);
        let err = try_split_frame(&mut two_gib, usize::MAX).unwrap_err();
        assert!(
            matches!(err, ProtocolError::NegativeFrameLength { .. }),
            "{err}"
        );

        let mut negative = BytesMut::from(&(-1i32).to_be_bytes()[..]);
        let err = try_split_frame(&mut negative, 100).unwrap_err();
        assert_eq!(err, ProtocolError::NegativeFrameLength { len: -1 });
    }

    #[test]
    fn a_frame_exactly_at_the_limit_is_accepted() {
        let mut buf = framed(&[7u8; 16]);
        assert_eq!(try_split_frame(&mut buf, 16).unwrap().unwrap().len(), 16);
        let mut over = framed(&[7u8; 17]);
        assert!(try_split_frame(&mut over, 16).is_err());
    }
}
