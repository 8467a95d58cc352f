//! Checksums made right, so mutated inputs reach the decoders behind them. Only the fields
//! each format's framing documents are touched: where a length runs past the end, the rest
//! is left as it is.

/// A `.fluoro` stream with every whole chunk's payload and header checksums recomputed
/// (`kind u8 · length u32 · payload crc32 · header crc32` from format version 5 on; no header
/// checksum before).
pub fn fluoro(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let magic = fluoro_profile::MAGIC;
    if out.len() < magic.len() || out[..6] != magic[..6] {
        return out;
    }
    let header_len = if out[7] >= 5 { 13 } else { 9 };
    let mut pos = magic.len();
    while pos + header_len <= out.len() {
        let len = u32_at(&out, pos + 1) as usize;
        let start = pos + header_len;
        let Some(end) = start.checked_add(len).filter(|&end| end <= out.len()) else {
            break;
        };
        let crc = crc32fast::hash(&out[start..end]);
        out[pos + 5..pos + 9].copy_from_slice(&crc.to_le_bytes());
        if header_len == 13 {
            let header_crc = crc32fast::hash(&out[pos..pos + 9]);
            out[pos + 9..pos + 13].copy_from_slice(&header_crc.to_le_bytes());
        }
        pos = end;
    }
    out
}

/// A `.fheap` snapshot with every whole section's checksum recomputed (a 12-byte header,
/// then `tag [u8; 4] · length u64 · crc32 · payload`).
pub fn fheap(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut pos = 12;
    if !out.starts_with(b"FHEAP\0\r\n") {
        return out;
    }
    while pos + 16 <= out.len() {
        let mut len = [0u8; 8];
        len.copy_from_slice(&out[pos + 4..pos + 12]);
        let start = pos + 16;
        let Some(end) = usize::try_from(u64::from_le_bytes(len))
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= out.len())
        else {
            break;
        };
        let crc = crc32fast::hash(&out[start..end]);
        out[pos + 12..pos + 16].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
    out
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_payload_reaches_the_decoder_once_resealed() {
        let mut data = fluoro_profile::MAGIC.to_vec();
        data.extend(fluoro_profile::encode(&fluoro_profile::Chunk::Threads(
            Vec::new(),
        )));
        let last = data.len() - 1;
        data[last] ^= 1;
        let first_error = |data: &[u8]| {
            fluoro_profile::ChunkReader::new(data)
                .unwrap()
                .find_map(Result::err)
        };
        assert!(matches!(
            first_error(&data),
            Some(fluoro_profile::FormatError::Checksum(_))
        ));
        assert!(matches!(
            first_error(&fluoro(&data)),
            Some(fluoro_profile::FormatError::Decode { .. })
        ));
    }
}
