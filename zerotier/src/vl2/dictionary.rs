//! The network config dictionary: ZeroTier's `key=value` text format with escaped binary values.
//!
//! ```text
//!   v=0000000000000007\nnwid=74beb2463d000097\n ... \nC=<escaped binary COM>\n ... ssoe=0
//! ```
//! Entries are joined by one `\n` (no newline after the last one). Keys are plain bytes
//! without `=`, `\r`, `\n`, `\0` or `\`. Values may be binary; five bytes are escaped:
//!
//! | byte | written as |
//! |---|---|
//! | `0x00` | `\0` |
//! | `\r` (13) | `\r` |
//! | `\n` (10) | `\n` |
//! | `\` | `\\` |
//! | `=` | `\e` |
//!
//! Numbers are lowercase hex (16 digits for 64-bit fields, 10 for node addresses). The
//! serialized form never contains a NUL byte, so ZeroTierOne can keep it as a C string.
//!
//! This parser is **strict**: it accepts exactly what the escaping above produces (no `\r`
//! separators, no empty lines, no unknown escapes, no raw `=` in a value, no NUL, no dangling
//! `\`), so for every
//! accepted input `emit(parse(x)) == x`. ZeroTierOne's own reader is more lenient (it skips
//! junk lines and maps an unknown escape to the byte itself) but never *writes* those forms.
//! Size and key count are bounded by [`DictLimits`].

use thiserror::Error;

/// Bounds applied while parsing untrusted bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DictLimits {
    /// Maximum serialized size in bytes (default 256 KiB; a full config with the largest rule
    /// and credential sets ZeroTierOne allows stays well below it).
    pub max_len: usize,
    /// Maximum number of entries (default 256; a network config uses about 25 keys).
    pub max_keys: usize,
}

impl Default for DictLimits {
    fn default() -> Self {
        DictLimits {
            max_len: 256 * 1024,
            max_keys: 256,
        }
    }
}

/// Why bytes are not a dictionary (offsets are into the serialized form).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DictError {
    /// Longer than [`DictLimits::max_len`].
    #[error("dictionary of {got} bytes exceeds the limit of {max}")]
    TooLong {
        /// Limit.
        max: usize,
        /// Size found.
        got: usize,
    },
    /// More entries than [`DictLimits::max_keys`].
    #[error("dictionary has more than {max} entries")]
    TooManyKeys {
        /// Limit.
        max: usize,
    },
    /// A raw NUL byte (the serialized form never holds one).
    #[error("raw NUL byte at offset {offset}")]
    Nul {
        /// Offset.
        offset: usize,
    },
    /// A raw carriage return (only `\n` separates entries).
    #[error("raw carriage return at offset {offset}")]
    CarriageReturn {
        /// Offset.
        offset: usize,
    },
    /// An empty line (two separators in a row, or a trailing separator).
    #[error("empty entry at offset {offset}")]
    EmptyEntry {
        /// Offset.
        offset: usize,
    },
    /// A line without `=`.
    #[error("entry at offset {offset} has no '='")]
    MissingEquals {
        /// Offset of the line.
        offset: usize,
    },
    /// A key that is empty or holds a byte keys may not hold (`\`).
    #[error("bad key at offset {offset}")]
    BadKey {
        /// Offset of the line.
        offset: usize,
    },
    /// A raw `=` inside a value (it is always written `\e`).
    #[error("unescaped '=' in a value at offset {offset}")]
    UnescapedEquals {
        /// Offset.
        offset: usize,
    },
    /// A backslash followed by a byte other than `0`, `r`, `n`, `\`, `e`.
    #[error("unknown escape \\{byte:#04x} at offset {offset}")]
    BadEscape {
        /// Offset of the backslash.
        offset: usize,
        /// The byte after it.
        byte: u8,
    },
    /// A backslash at the end of a value.
    #[error("dangling backslash at offset {offset}")]
    DanglingEscape {
        /// Offset of the backslash.
        offset: usize,
    },
    /// A value that should be a number, address, string or structure is not.
    #[error("key {key}: {why}")]
    BadValue {
        /// The key.
        key: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// A key the format requires is absent.
    #[error("missing key {0}")]
    Missing(&'static str),
}

/// An ordered list of `key=value` entries (order and duplicates kept, so emission is
/// byte-exact; lookups return the first entry, as ZeroTierOne does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dictionary {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

fn key_ok(k: &[u8]) -> bool {
    !k.is_empty()
        && !k
            .iter()
            .any(|&b| matches!(b, 0 | b'\r' | b'\n' | b'=' | b'\\'))
}

impl Dictionary {
    /// Empty dictionary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse with the default [`DictLimits`].
    pub fn parse(b: &[u8]) -> Result<Self, DictError> {
        Self::parse_with(b, &DictLimits::default())
    }

    /// Parse untrusted bytes within `limits`.
    pub fn parse_with(b: &[u8], limits: &DictLimits) -> Result<Self, DictError> {
        if b.len() > limits.max_len {
            return Err(DictError::TooLong {
                max: limits.max_len,
                got: b.len(),
            });
        }
        let mut entries = Vec::new();
        if b.is_empty() {
            return Ok(Dictionary { entries });
        }
        let mut line_start = 0usize;
        for line in b.split(|&c| c == b'\n') {
            if entries.len() >= limits.max_keys {
                return Err(DictError::TooManyKeys {
                    max: limits.max_keys,
                });
            }
            let off = line_start;
            line_start += line.len() + 1;
            if line.is_empty() {
                return Err(DictError::EmptyEntry { offset: off });
            }
            if let Some(i) = line.iter().position(|&c| c == 0) {
                return Err(DictError::Nul { offset: off + i });
            }
            if let Some(i) = line.iter().position(|&c| c == b'\r') {
                return Err(DictError::CarriageReturn { offset: off + i });
            }
            let eq = line
                .iter()
                .position(|&c| c == b'=')
                .ok_or(DictError::MissingEquals { offset: off })?;
            let key = &line[..eq];
            if !key_ok(key) {
                return Err(DictError::BadKey { offset: off });
            }
            let raw = &line[eq + 1..];
            let mut value = Vec::with_capacity(raw.len());
            let mut i = 0;
            while i < raw.len() {
                let c = raw[i];
                if c == b'\\' {
                    let at = off + eq + 1 + i;
                    let n = *raw
                        .get(i + 1)
                        .ok_or(DictError::DanglingEscape { offset: at })?;
                    value.push(match n {
                        b'0' => 0,
                        b'r' => b'\r',
                        b'n' => b'\n',
                        b'\\' => b'\\',
                        b'e' => b'=',
                        other => {
                            return Err(DictError::BadEscape {
                                offset: at,
                                byte: other,
                            })
                        }
                    });
                    i += 2;
                } else if c == b'=' {
                    return Err(DictError::UnescapedEquals {
                        offset: off + eq + 1 + i,
                    });
                } else {
                    value.push(c);
                    i += 1;
                }
            }
            entries.push((key.to_vec(), value));
        }
        Ok(Dictionary { entries })
    }

    /// Append the serialized form.
    pub fn emit(&self, out: &mut Vec<u8>) {
        for (n, (k, v)) in self.entries.iter().enumerate() {
            if n > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(k);
            out.push(b'=');
            for &c in v {
                match c {
                    0 => out.extend_from_slice(b"\\0"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'=' => out.extend_from_slice(b"\\e"),
                    c => out.push(c),
                }
            }
        }
    }

    /// The serialized form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit(&mut v);
        v
    }

    /// The serialized length, without building it.
    pub fn encoded_len(&self) -> usize {
        let esc = |v: &[u8]| {
            v.iter()
                .map(|c| {
                    if matches!(c, 0 | b'\r' | b'\n' | b'\\' | b'=') {
                        2
                    } else {
                        1
                    }
                })
                .sum::<usize>()
        };
        self.entries
            .iter()
            .map(|(k, v)| k.len() + 1 + esc(v))
            .sum::<usize>()
            + self.entries.len().saturating_sub(1)
    }

    /// Entries in order.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// A hex number (ZeroTierOne writes 64-bit fields as 16 lowercase digits, addresses as
    /// 10); `None` when absent.
    pub fn get_u64(&self, key: &'static str) -> Result<Option<u64>, DictError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        parse_hex(v).map(Some).ok_or(DictError::BadValue {
            key,
            why: "not a hex number",
        })
    }

    /// A boolean written as `1`/`0` (ZeroTierOne also reads `t`/`T` as true).
    pub fn get_bool(&self, key: &'static str) -> Option<bool> {
        self.get(key)
            .map(|v| matches!(v.first(), Some(b'1' | b't' | b'T')))
    }

    /// A UTF-8 string value.
    pub fn get_str(&self, key: &'static str) -> Result<Option<&str>, DictError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        std::str::from_utf8(v)
            .map(Some)
            .map_err(|_| DictError::BadValue {
                key,
                why: "not UTF-8",
            })
    }

    /// Append an entry (a key already present is appended again; `get` returns the first).
    /// Fails with [`DictError::BadKey`] for an empty key or one holding `=`, `\r`, `\n`,
    /// NUL or `\`.
    pub fn push(&mut self, key: &str, value: impl Into<Vec<u8>>) -> Result<(), DictError> {
        if !key_ok(key.as_bytes()) {
            return Err(DictError::BadKey { offset: 0 });
        }
        self.entries.push((key.as_bytes().to_vec(), value.into()));
        Ok(())
    }

    /// Append a 64-bit number as 16 lowercase hex digits.
    pub fn push_u64(&mut self, key: &str, v: u64) -> Result<(), DictError> {
        self.push(key, format!("{v:016x}"))
    }

    /// Append a 40-bit node address as 10 lowercase hex digits.
    pub fn push_address(&mut self, key: &str, v: crate::Address) -> Result<(), DictError> {
        self.push(key, v.to_string())
    }

    /// Append a boolean as `1`/`0`.
    pub fn push_bool(&mut self, key: &str, v: bool) -> Result<(), DictError> {
        self.push(key, if v { "1" } else { "0" })
    }
}

/// 1 to 16 hex digits (either case).
pub(crate) fn parse_hex(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 16 || !v.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(v).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        let mut d = Dictionary::new();
        d.push("b", vec![0, b'\r', b'\n', b'\\', b'=', b'x', 0xff])
            .unwrap();
        d.push_u64("n", 0x20).unwrap();
        let s = d.to_bytes();
        assert_eq!(s, b"b=\\0\\r\\n\\\\\\ex\xff\nn=0000000000000020");
        assert_eq!(d.encoded_len(), s.len());
        assert_eq!(Dictionary::parse(&s).unwrap(), d);
        assert_eq!(d.get_u64("n").unwrap(), Some(0x20));
    }

    #[test]
    fn typed_errors() {
        use DictError::*;
        let e = |b: &[u8]| Dictionary::parse(b).unwrap_err();
        assert_eq!(e(b"a=1\n"), EmptyEntry { offset: 4 });
        assert_eq!(e(b"a=1\r\nb=2"), CarriageReturn { offset: 3 });
        assert_eq!(e(b"a=\0"), Nul { offset: 2 });
        assert_eq!(e(b"abc"), MissingEquals { offset: 0 });
        assert_eq!(e(b"=1"), BadKey { offset: 0 });
        assert_eq!(
            e(b"a=\\q"),
            BadEscape {
                offset: 2,
                byte: b'q'
            }
        );
        assert_eq!(e(b"a=x\\"), DanglingEscape { offset: 3 });
        assert_eq!(e(b"a=b=c"), UnescapedEquals { offset: 3 });
        let lim = DictLimits {
            max_len: 8,
            max_keys: 2,
        };
        assert_eq!(
            Dictionary::parse_with(b"a=1\nb=2\nc", &lim).unwrap_err(),
            TooLong { max: 8, got: 9 }
        );
        assert_eq!(
            Dictionary::parse_with(b"a=\nb=\nc=", &lim).unwrap_err(),
            TooManyKeys { max: 2 }
        );
        assert!(Dictionary::new().push("a=b", "x").is_err());
        // The defaults: 256 entries, 256 KiB.
        let mut d = Dictionary::new();
        for i in 0..257 {
            d.push(&format!("k{i}"), "1").unwrap();
        }
        assert_eq!(
            Dictionary::parse(&d.to_bytes()).unwrap_err(),
            TooManyKeys { max: 256 }
        );
        let mut d = Dictionary::new();
        d.push("k", vec![b'x'; 256 * 1024 - 2]).unwrap();
        assert_eq!(d.encoded_len(), 256 * 1024);
        assert!(Dictionary::parse(&d.to_bytes()).is_ok());
        d.push("l", "").unwrap();
        assert_eq!(
            Dictionary::parse(&d.to_bytes()).unwrap_err(),
            TooLong {
                max: 256 * 1024,
                got: 256 * 1024 + 3
            }
        );
        assert!(Dictionary::parse(b"").unwrap().is_empty());
    }
}
