//! The tar entry headers ferry writes and the strict header checks its reader applies: POSIX ustar, regular files
//! only, deterministic fields (mtime 0, mode 0644, uid/gid 0, no owner names), GNU base-256 sizes past 8 GiB.

use crate::image::Digest;

/// The tar block size: headers are one block, data is padded to whole blocks.
pub(super) const BLOCK: u64 = 512;
/// Two zero blocks end a tar archive.
pub(super) const END_OF_ARCHIVE: u64 = 2 * BLOCK;
/// Directory of blob entries inside a segment.
pub(super) const BLOB_DIR: &str = "blobs/sha256/";
/// The entry holding the run's metadata, in the last segment of a set.
pub(super) const METADATA_NAME: &str = "ferry/metadata.json";
/// Prefix of the entries that cover abandoned (failed or interrupted) writes.
pub(super) const VOID_PREFIX: &str = "ferry/void/";

/// The largest size the 11-digit octal field holds; larger sizes use the GNU base-256 form.
const OCTAL_SIZE_LIMIT: u64 = 0o77_777_777_777;

/// `size` rounded up to whole blocks.
pub(super) fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK) * BLOCK
}

/// Bytes an entry of `size` data bytes takes in the archive: its header plus the padded data.
pub(super) fn region_len(size: u64) -> u64 {
    BLOCK + padded(size)
}

/// The entry name of a blob.
pub(super) fn blob_name(digest: &Digest) -> String {
    format!("{BLOB_DIR}{}", digest.hex())
}

/// A regular-file header for `name` (at most 100 bytes) with `size` data bytes.
pub(super) fn header(name: &str, size: u64) -> [u8; 512] {
    header_of_type(name, size, b'0', "")
}

/// A header of any type; ferry itself only writes regular files (`b'0'`), tests craft the rest.
pub(super) fn header_of_type(name: &str, size: u64, typeflag: u8, link: &str) -> [u8; 512] {
    let mut block = [0u8; 512];
    let name = name.as_bytes();
    assert!(
        name.len() <= 100,
        "tar entry names written by ferry fit the 100-byte field"
    );
    block[..name.len()].copy_from_slice(name);
    block[100..108].copy_from_slice(b"0000644\0");
    block[108..116].copy_from_slice(b"0000000\0");
    block[116..124].copy_from_slice(b"0000000\0");
    if size <= OCTAL_SIZE_LIMIT {
        block[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    } else {
        block[124] = 0x80;
        block[128..136].copy_from_slice(&size.to_be_bytes());
    }
    block[136..148].copy_from_slice(b"00000000000\0");
    block[156] = typeflag;
    let link = link.as_bytes();
    block[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    block[329..337].copy_from_slice(b"0000000\0");
    block[337..345].copy_from_slice(b"0000000\0");
    let checksum = unsigned_checksum(&block);
    block[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    block
}

/// A parsed entry header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EntryHeader {
    pub name: String,
    pub size: u64,
    pub typeflag: u8,
}

/// What is wrong with a tar header block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum HeaderError {
    #[error("not a tar header (no ustar magic)")]
    NoMagic,
    #[error("not a tar header (unreadable checksum)")]
    UnreadableChecksum,
    #[error("tar header checksum mismatch (corrupted data)")]
    ChecksumMismatch,
    #[error("negative entry size")]
    NegativeSize,
    #[error("entry size out of range")]
    SizeOutOfRange,
    #[error("unreadable entry size")]
    UnreadableSize,
    #[error("entry name is not UTF-8")]
    NameNotUtf8,
}

/// Parses one header block; `Ok(None)` for an all-zero block (end of archive). Errors say what is wrong.
pub(super) fn parse_header(block: &[u8; 512]) -> Result<Option<EntryHeader>, HeaderError> {
    if block.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    if &block[257..262] != b"ustar" {
        return Err(HeaderError::NoMagic);
    }
    let stored = parse_octal(&block[148..156]).ok_or(HeaderError::UnreadableChecksum)?;
    if stored != unsigned_checksum(block) && stored as i64 != signed_checksum(block) {
        return Err(HeaderError::ChecksumMismatch);
    }
    let size = parse_size(&block[124..136])?;
    let posix = &block[257..263] == b"ustar\0";
    let mut name = field_str(&block[..100])?;
    if posix {
        let prefix = field_str(&block[345..500])?;
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
    }
    Ok(Some(EntryHeader {
        name,
        size,
        typeflag: block[156],
    }))
}

/// What an entry is, by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EntryKind {
    Blob(Digest),
    Metadata,
    /// Abandoned writes and any other `ferry/...` entry a later version may add: skipped.
    Ignored,
}

/// Why an entry is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Dangerous wherever it came from: an absolute path, `..`, a link, a device.
    Unsafe(String),
    /// Harmless, but not something ferry writes: the file is not a ferry archive.
    Foreign(String),
}

/// Checks an entry's type and name against what ferry archives may hold.
pub(super) fn classify(header: &EntryHeader) -> Result<EntryKind, Refusal> {
    let name = header.name.as_str();
    if name.starts_with('/') {
        return Err(Refusal::Unsafe("absolute path".into()));
    }
    if name.split('/').any(|c| c == "..") {
        return Err(Refusal::Unsafe("path with `..`".into()));
    }
    match header.typeflag {
        b'0' | 0 => {}
        other => {
            return Err(Refusal::Unsafe(format!(
                "{} entry; ferry archives hold only regular files",
                type_name(other)
            )))
        }
    }
    if let Some(hex) = name.strip_prefix(BLOB_DIR) {
        let digest: Digest = format!("sha256:{hex}")
            .parse()
            .map_err(|_| Refusal::Foreign(format!("blob entry name is not `{BLOB_DIR}<64 lowercase hex>`")))?;
        return Ok(EntryKind::Blob(digest));
    }
    if name == METADATA_NAME {
        return Ok(EntryKind::Metadata);
    }
    if let Some(rest) = name.strip_prefix("ferry/") {
        if rest.split('/').all(|c| !c.is_empty() && c != ".") {
            return Ok(EntryKind::Ignored);
        }
    }
    Err(Refusal::Foreign(format!(
        "not a ferry archive entry (ferry writes only `{BLOB_DIR}...` and `ferry/...`)"
    )))
}

fn type_name(typeflag: u8) -> String {
    match typeflag {
        b'1' => "hard link".into(),
        b'2' => "symbolic link".into(),
        b'3' => "character device".into(),
        b'4' => "block device".into(),
        b'5' => "directory".into(),
        b'6' => "FIFO".into(),
        b'7' => "contiguous file".into(),
        b'x' | b'g' => "pax extended header".into(),
        b'L' | b'K' => "GNU long name".into(),
        other if other.is_ascii_graphic() => format!("type `{}`", other as char),
        other => format!("type {other:#04x}"),
    }
}

fn unsigned_checksum(block: &[u8; 512]) -> u64 {
    block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                u64::from(b' ')
            } else {
                u64::from(b)
            }
        })
        .sum()
}

fn signed_checksum(block: &[u8; 512]) -> i64 {
    block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                i64::from(b' ')
            } else {
                i64::from(b as i8)
            }
        })
        .sum()
}

fn field_str(field: &[u8]) -> Result<String, HeaderError> {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8(field[..end].to_vec()).map_err(|_| HeaderError::NameNotUtf8)
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = field.iter().skip_while(|&&b| b == b' ');
    let mut value: u64 = 0;
    let mut digits = 0;
    for &b in text {
        match b {
            b'0'..=b'7' => {
                value = value.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
                digits += 1;
            }
            0 | b' ' => break,
            _ => return None,
        }
    }
    (digits > 0).then_some(value)
}

fn parse_size(field: &[u8]) -> Result<u64, HeaderError> {
    if field[0] & 0x80 != 0 {
        if field[0] == 0xff {
            return Err(HeaderError::NegativeSize);
        }
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            value = value
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(b)))
                .ok_or(HeaderError::SizeOutOfRange)?;
        }
        return Ok(value);
    }
    parse_octal(field).ok_or(HeaderError::UnreadableSize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_including_base256_sizes() {
        for size in [0, 1, 511, 512, OCTAL_SIZE_LIMIT, OCTAL_SIZE_LIMIT + 1, 20 << 30] {
            let block = header("blobs/sha256/x", size);
            let parsed = parse_header(&block).unwrap().unwrap();
            assert_eq!(parsed.size, size);
            assert_eq!(parsed.name, "blobs/sha256/x");
            assert_eq!(parsed.typeflag, b'0');
        }
    }

    #[test]
    fn headers_are_deterministic_and_checked() {
        assert_eq!(header("a", 3), header("a", 3));
        let mut block = header("a", 3);
        block[0] = b'b';
        assert!(parse_header(&block).unwrap_err().to_string().contains("checksum"));
        assert_eq!(parse_header(&[0; 512]).unwrap(), None);
    }

    #[test]
    fn classify_refuses_unsafe_entries() {
        let entry = |name: &str, typeflag| EntryHeader {
            name: name.into(),
            size: 0,
            typeflag,
        };
        let digest = Digest::of_bytes(b"x");
        assert_eq!(
            classify(&entry(&blob_name(&digest), b'0')).unwrap(),
            EntryKind::Blob(digest)
        );
        assert_eq!(classify(&entry(METADATA_NAME, b'0')).unwrap(), EntryKind::Metadata);
        assert_eq!(classify(&entry("ferry/void/1-0", b'0')).unwrap(), EntryKind::Ignored);
        let refused = |name: &str, typeflag| classify(&entry(name, typeflag)).unwrap_err();
        assert_eq!(refused("/etc/passwd", b'0'), Refusal::Unsafe("absolute path".into()));
        assert!(matches!(refused("blobs/../../x", b'0'), Refusal::Unsafe(r) if r.contains("..")));
        assert!(matches!(refused("ferry/link", b'2'), Refusal::Unsafe(r) if r.contains("symbolic link")));
        assert!(matches!(refused("blobs/sha256/abc", b'0'), Refusal::Foreign(r) if r.contains("64")));
        assert!(matches!(refused("etc/hosts", b'0'), Refusal::Foreign(r) if r.contains("not a ferry")));
    }
}
