//! Kafka's zigzag varints (protobuf style), as records use them. Reads never run past the
//! input: a varint that is too long or cut short is `None`.

/// Reads a zigzag varint of at most 5 bytes (an i32) from the front of `input`.
pub(crate) fn read_varint(input: &mut &[u8]) -> Option<i32> {
    let raw = read_unsigned(input, 5)?;
    // Kafka keeps the low 32 bits of an over-wide fifth byte; so do we.
    let raw = raw as u32;
    Some(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

/// Reads a zigzag varlong of at most 10 bytes (an i64) from the front of `input`.
pub(crate) fn read_varlong(input: &mut &[u8]) -> Option<i64> {
    let raw = read_unsigned(input, 10)?;
    Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

fn read_unsigned(input: &mut &[u8], max_bytes: usize) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in input.iter().enumerate().take(max_bytes) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *input = &input[i + 1..];
            return Some(value);
        }
    }
    None
}

/// Appends `value` as a zigzag varlong.
pub(crate) fn put_varlong(out: &mut Vec<u8>, value: i64) {
    let mut raw = ((value << 1) ^ (value >> 63)) as u64;
    while raw >= 0x80 {
        out.push((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

/// Appends `value` as a zigzag varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_varlong(out, i64::from(value));
}

/// How many bytes `value` takes as a zigzag varlong.
pub(crate) fn varlong_len(value: i64) -> usize {
    let raw = ((value << 1) ^ (value >> 63)) as u64;
    let bits = 64 - raw.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varlongs_round_trip_and_their_length_is_what_is_written() {
        for v in [
            0,
            1,
            -1,
            63,
            -64,
            64,
            300,
            -300,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            assert_eq!(out.len(), varlong_len(v), "{v}");
            let mut input = out.as_slice();
            assert_eq!(read_varlong(&mut input), Some(v));
            assert!(input.is_empty());
        }
    }

    #[test]
    fn varints_round_trip() {
        for v in [0, 1, -1, 150, -150, i32::MAX, i32::MIN] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut input = out.as_slice();
            assert_eq!(read_varint(&mut input), Some(v));
            assert!(input.is_empty());
        }
    }

    #[test]
    fn cut_or_overlong_varints_are_refused_without_moving_the_input() {
        let mut cut: &[u8] = &[0x80, 0x80];
        assert_eq!(read_varint(&mut cut), None);
        assert_eq!(cut.len(), 2);
        let mut six: &[u8] = &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        assert_eq!(read_varint(&mut six), None);
        let mut eleven: &[u8] = &[0xff; 11];
        assert_eq!(read_varlong(&mut eleven), None);
        let mut empty: &[u8] = &[];
        assert_eq!(read_varlong(&mut empty), None);
    }
}
