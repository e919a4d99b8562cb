//! Record framing inside a segment file:
//! `u32 body length (LE) | u32 CRC-32 of the body (LE) | body`, where the
//! body is `u32 key length (LE) | key | payload`.

/// One encoded event: the Kafka message key and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub payload: Vec<u8>,
}

const HEADER: usize = 8;

/// Appends the framed record to `out`.
pub fn encode_record(record: &Record, out: &mut Vec<u8>) {
    let body_len = 4 + record.key.len() + record.payload.len();
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(record.key.len() as u32).to_le_bytes());
    out.extend_from_slice(record.key.as_bytes());
    out.extend_from_slice(&record.payload);
    let crc = crc32fast::hash(&out[start + HEADER..]);
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
}

/// What a segment file held.
#[derive(Debug, Default)]
pub struct SegmentContents {
    pub records: Vec<Record>,
    /// Bytes after the last good record: a torn write (crash mid-append) or
    /// corruption. They cannot be framed again and are reported, not sent.
    pub unreadable_bytes: usize,
}

pub fn decode_segment(bytes: &[u8]) -> SegmentContents {
    let mut contents = SegmentContents::default();
    let mut at = 0;
    while at < bytes.len() {
        match decode_one(&bytes[at..]) {
            Some((record, used)) => {
                contents.records.push(record);
                at += used;
            }
            None => {
                contents.unreadable_bytes = bytes.len() - at;
                break;
            }
        }
    }
    contents
}

fn decode_one(bytes: &[u8]) -> Option<(Record, usize)> {
    let body_len = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    let body = bytes.get(HEADER..HEADER.checked_add(body_len)?)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let key_len = u32::from_le_bytes(body.get(0..4)?.try_into().ok()?) as usize;
    let key = std::str::from_utf8(body.get(4..4usize.checked_add(key_len)?)?).ok()?;
    let payload = body[4 + key_len..].to_vec();
    Some((
        Record {
            key: key.to_string(),
            payload,
        },
        HEADER + body_len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize) -> Record {
        Record {
            key: format!("host{i}"),
            payload: format!("{{\"n\":{i}}}").into_bytes(),
        }
    }

    #[test]
    fn records_round_trip() {
        let mut bytes = Vec::new();
        for i in 0..100 {
            encode_record(&record(i), &mut bytes);
        }
        let contents = decode_segment(&bytes);
        assert_eq!(contents.unreadable_bytes, 0);
        assert_eq!(contents.records, (0..100).map(record).collect::<Vec<_>>());
    }

    #[test]
    fn a_torn_tail_keeps_every_complete_record() {
        let mut bytes = Vec::new();
        for i in 0..3 {
            encode_record(&record(i), &mut bytes);
        }
        let whole = bytes.len();
        encode_record(&record(3), &mut bytes);
        for cut in whole..bytes.len() {
            let contents = decode_segment(&bytes[..cut]);
            assert_eq!(contents.records.len(), 3, "cut at {cut}");
            assert_eq!(contents.unreadable_bytes, cut - whole);
        }
    }

    #[test]
    fn a_flipped_bit_is_caught_by_the_crc() {
        let mut bytes = Vec::new();
        encode_record(&record(0), &mut bytes);
        encode_record(&record(1), &mut bytes);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let contents = decode_segment(&bytes);
        assert_eq!(contents.records, vec![record(0)]);
        assert!(contents.unreadable_bytes > 0);
    }
}
