//! Text keys (RFC 7143 §6): `key=value` pairs, each ended by a NUL, in login and text PDUs.

use super::PduError;

/// The longest key name RFC 7143 allows.
const MAX_KEY: usize = 63;
/// The longest value we accept (the RFC's limit for most keys is 255; SendTargets replies and
/// CHAP values in hex stay far below this).
const MAX_VALUE: usize = 8192;

/// Parses a data segment into its pairs, in order.
///
/// # Errors
/// [`PduError::BadText`] for a pair without `=`, a key too long or empty, a value too long, or
/// bytes that are not UTF-8.
pub fn parse(data: &[u8]) -> Result<Vec<(String, String)>, PduError> {
    let mut out = Vec::new();
    for item in data.split(|&b| b == 0) {
        if item.is_empty() {
            continue;
        }
        let text = std::str::from_utf8(item).map_err(|_| PduError::BadText("not UTF-8"))?;
        let (k, v) = text
            .split_once('=')
            .ok_or(PduError::BadText("a key without '='"))?;
        if k.is_empty() || k.len() > MAX_KEY {
            return Err(PduError::BadText("a key name that is empty or too long"));
        }
        if v.len() > MAX_VALUE {
            return Err(PduError::BadText("a value that is too long"));
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

/// Encodes pairs into a data segment.
pub fn encode(pairs: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_and_errors_are_named() {
        let pairs = vec![
            ("InitiatorName".to_owned(), "iqn.2026-12.test:a".to_owned()),
            ("AuthMethod".to_owned(), "CHAP,None".to_owned()),
            ("X-empty".to_owned(), String::new()),
        ];
        let bytes = encode(&pairs);
        assert_eq!(
            bytes,
            b"InitiatorName=iqn.2026-12.test:a\0AuthMethod=CHAP,None\0X-empty=\0".to_vec()
        );
        assert_eq!(parse(&bytes).unwrap(), pairs);
        // Padding NULs and a missing final NUL are tolerated.
        assert_eq!(parse(b"A=1\0\0\0").unwrap().len(), 1);
        assert_eq!(parse(b"A=1").unwrap().len(), 1);
        let cases: &[(&[u8], &str)] = &[
            (b"novalue\0", "a key without '='"),
            (b"=x\0", "a key name that is empty or too long"),
            (b"\xff=1\0", "not UTF-8"),
        ];
        for (input, why) in cases {
            assert_eq!(parse(input), Err(PduError::BadText(why)));
        }
    }
}
