//! The pieces of Kafka's flexible encoding that the coordinators' stored records share:
//! unsigned varints, compact lengths (length + 1) and tag sections. Readers return `None` on
//! input that ends too early; each record format names its own error.

use bytes::BufMut;

pub(crate) fn put_uvarint(w: &mut impl BufMut, mut v: u64) {
    while v >= 0x80 {
        w.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    w.put_u8(v as u8);
}

/// A compact array or string length (length + 1).
pub(crate) fn put_compact_len(w: &mut impl BufMut, len: usize) {
    put_uvarint(w, len as u64 + 1);
}

/// An unsigned varint of at most 64 bits.
pub(crate) fn get_uvarint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A tag section: each field's tag and bytes.
pub(crate) fn get_tagged<'a>(buf: &mut &'a [u8]) -> Option<Vec<(u64, &'a [u8])>> {
    let count = get_uvarint(buf)?;
    let mut fields = Vec::new();
    for _ in 0..count {
        let tag = get_uvarint(buf)?;
        let size = usize::try_from(get_uvarint(buf)?).ok()?;
        let (field, rest) = buf.split_at_checked(size)?;
        *buf = rest;
        fields.push((tag, field));
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_tag_sections_round_trip_and_short_input_is_none() {
        let mut w = Vec::new();
        for v in [0, 127, 128, 300, u64::MAX] {
            put_uvarint(&mut w, v);
        }
        let mut r = &w[..];
        for v in [0, 127, 128, 300, u64::MAX] {
            assert_eq!(get_uvarint(&mut r), Some(v));
        }
        assert_eq!(get_uvarint(&mut &[0x80][..]), None);

        let mut tags = Vec::new();
        put_uvarint(&mut tags, 1);
        put_uvarint(&mut tags, 7);
        put_uvarint(&mut tags, 2);
        tags.extend_from_slice(b"ab");
        assert_eq!(get_tagged(&mut &tags[..]), Some(vec![(7, &b"ab"[..])]));
        assert_eq!(get_tagged(&mut &tags[..tags.len() - 1]), None);
    }
}
