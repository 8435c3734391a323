//! Pool names (rsm-media-pools §2): `\`-separated paths, their limits, and case-insensitive keys.

use std::fmt;

use super::RsmError;

/// Most UTF-16 code units in one component (`szName` is 64 including the terminator).
pub const MAX_COMPONENT_UNITS: usize = 63;
/// Most UTF-16 code units in a full path including separators (`NTMS_POOLHIERARCHY_LENGTH` 512
/// including the terminator).
pub const MAX_PATH_UNITS: usize = 511;

/// A validated pool path: zero components is the root pool (`\`).
///
/// Components keep the case they were written in; [`key`](Self::key) gives the case-folded
/// form that comparisons use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolPath {
    components: Vec<String>,
}

/// The comparison key of one component: each character lower-cased with
/// `char::to_lowercase`, then the characters whose lower case is not their simple case fold
/// mapped to it (final sigma `ς` → `σ`, long s `ſ` → `s`, `ϐ` → `β` …), so `ΟΣ`, `ος` and
/// `οσ` are one name. This is Unicode simple case folding for every character whose lower
/// case is a single character; the few others (`İ`) are folded the same way on either side.
pub fn fold(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for c in component.chars().flat_map(char::to_lowercase) {
        out.push(match c {
            'ς' => 'σ',
            'ſ' => 's',
            'ϐ' => 'β',
            'ϑ' => 'θ',
            'ϕ' => 'φ',
            'ϖ' => 'π',
            'ϰ' => 'κ',
            'ϱ' => 'ρ',
            'ϵ' => 'ε',
            'ẛ' => 'ṡ',
            c => c,
        });
    }
    out
}

/// Characters a name may not hold although they are not control characters: invisible ones
/// (zero-width, joiners, soft hyphen, fillers) and bidirectional overrides and isolates, which
/// make two different names look the same (look-alike pools).
fn is_invisible_or_bidi(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Checks one component; `Ok(units)` is its length in UTF-16 code units.
///
/// # Errors
/// `ERROR_INVALID_NAME` when it is empty, longer than 63 UTF-16 units, `.` or `..`, or holds a
/// NUL or control character, an invisible or bidirectional-control character, or a `\`.
pub fn check_component(component: &str) -> Result<usize, RsmError> {
    let bad = |why: &str| {
        Err(RsmError::InvalidName(format!(
            "component {component:?} {why}"
        )))
    };
    if component.is_empty() {
        return bad("is empty (no `\\\\`, no trailing `\\`)");
    }
    if component == "." || component == ".." {
        return bad("is not allowed");
    }
    if let Some(c) = component.chars().find(|c| c.is_control() || *c == '\\') {
        return bad(&format!("holds the character {c:?}"));
    }
    if let Some(c) = component.chars().find(|c| is_invisible_or_bidi(*c)) {
        return bad(&format!(
            "holds the invisible or bidirectional character U+{:04X}, which lets names look alike",
            u32::from(c)
        ));
    }
    let units = component.encode_utf16().count();
    if units > MAX_COMPONENT_UNITS {
        return bad(&format!(
            "is {units} UTF-16 units long, at most {MAX_COMPONENT_UNITS} allowed"
        ));
    }
    Ok(units)
}

impl PoolPath {
    /// Parses a path: `\A\B`, or `A\B` (a missing leading `\` means rooted); `\` alone is the
    /// root pool.
    ///
    /// # Errors
    /// `ERROR_INVALID_NAME` when the name is empty, a component breaks [`check_component`], or
    /// the whole path is longer than 511 UTF-16 units.
    pub fn parse(name: &str) -> Result<PoolPath, RsmError> {
        if name.is_empty() {
            return Err(RsmError::InvalidName("the name is empty".into()));
        }
        if name == "\\" {
            return Ok(PoolPath { components: vec![] });
        }
        let rest = name.strip_prefix('\\').unwrap_or(name);
        let mut units = 0;
        let mut components = Vec::new();
        for c in rest.split('\\') {
            units += 1 + check_component(c)?;
            components.push(c.to_owned());
        }
        if units > MAX_PATH_UNITS {
            return Err(RsmError::InvalidName(format!(
                "the path is {units} UTF-16 units long, at most {MAX_PATH_UNITS} allowed"
            )));
        }
        Ok(PoolPath { components })
    }

    /// The components, case preserved.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// Whether this is the root pool.
    pub fn is_root(&self) -> bool {
        self.components.is_empty()
    }

    /// The parent path (`None` for the root).
    pub fn parent(&self) -> Option<PoolPath> {
        let (_, parent) = self.components.split_last()?;
        Some(PoolPath {
            components: parent.to_vec(),
        })
    }

    /// The last component (`None` for the root).
    pub fn leaf(&self) -> Option<&str> {
        self.components.last().map(String::as_str)
    }

    /// The case-folded form of the whole path; equal keys name the same pool.
    pub fn key(&self) -> String {
        self.to_string()
            .chars()
            .flat_map(char::to_lowercase)
            .collect()
    }
}

impl fmt::Display for PoolPath {
    /// The canonical form: `\A\B`, and `\` for the root.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.components.is_empty() {
            return f.write_str("\\");
        }
        for c in &self.components {
            write!(f, "\\{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let c63 = "a".repeat(63);
        let c64 = "a".repeat(64);
        // 8 components of 63 units + 8 separators = 512; of which one shortened by one = 511.
        let long_ok = format!("{}\\{}", [c63.as_str(); 7].join("\\"), "a".repeat(62));
        let long_bad = [c63.as_str(); 8].join("\\");
        // Non-BMP characters count two UTF-16 units each.
        let emoji31 = "😀".repeat(31);
        let emoji32 = "😀".repeat(32);
        let table: Vec<(&str, Option<&str>)> = vec![
            ("\\MyApp", Some("\\MyApp")),
            ("MyApp", Some("\\MyApp")),
            ("\\MyApp\\Pool1", Some("\\MyApp\\Pool1")),
            ("API_Sample_Pool", Some("\\API_Sample_Pool")),
            ("\\", Some("\\")),
            ("\\a/b", Some("\\a/b")),
            ("\\ spaced name ", Some("\\ spaced name ")),
            ("\\Ünïcödé\\日本", Some("\\Ünïcödé\\日本")),
            ("\\...", Some("\\...")),
            (&c63, Some("")),
            (&long_ok, Some("")),
            (&emoji31, Some("")),
            ("", None),
            ("\\\\", None),
            ("\\\\a", None),
            ("\\a\\\\b", None),
            ("\\a\\", None),
            ("a\\", None),
            ("\\.", None),
            ("\\..", None),
            ("\\a\\.\\b", None),
            ("\\a\\..", None),
            ("\\a\0b", None),
            ("\\a\tb", None),
            ("\\a\nb", None),
            ("\\a\u{7f}", None),
            ("\\a\u{85}", None),
            (&c64, None),
            (&long_bad, None),
            (&emoji32, None),
        ];
        for (input, want) in table {
            match (PoolPath::parse(input), want) {
                (Ok(p), Some("")) => assert!(!p.is_root(), "{input:?}"),
                (Ok(p), Some(w)) => assert_eq!(p.to_string(), w, "{input:?}"),
                (Err(e), None) => assert_eq!(e.code(), 123, "{input:?}"),
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn keys_fold_case_and_keep_it() {
        let table: [(&str, &str, bool); 7] = [
            ("\\MyApp\\Pool", "\\myapp\\POOL", true),
            ("MyApp", "\\MYAPP", true),
            ("\\ÄÖÜ", "\\äöü", true),
            ("\\ΣΊΣΥΦΟΣ", "\\σίσυφοσ", true),
            ("\\Straße", "\\STRASSE", false), // simple folding keeps ß
            ("\\a", "\\b", false),
            ("\\a\\b", "\\a/b", false),
        ];
        for (a, b, same) in table {
            let (pa, pb) = (PoolPath::parse(a).unwrap(), PoolPath::parse(b).unwrap());
            assert_eq!(pa.key() == pb.key(), same, "{a} vs {b}");
            assert_eq!(
                pa.to_string().trim_start_matches('\\'),
                a.trim_start_matches('\\')
            );
        }
        assert_eq!(fold("MiXeD"), "mixed");
        let same: &[(&str, &str)] = &[("ΟΣ", "ος"), ("ΟΣ", "οσ"), ("Maſſ", "MASS"), ("ϐ", "Β")];
        for (a, b) in same {
            assert_eq!(fold(a), fold(b), "{a} and {b} are one name");
        }
    }

    #[test]
    fn parent_and_leaf() {
        let p = PoolPath::parse("\\A\\B\\C").unwrap();
        assert_eq!(p.leaf(), Some("C"));
        assert_eq!(p.parent().unwrap().to_string(), "\\A\\B");
        assert_eq!(
            p.parent()
                .unwrap()
                .parent()
                .unwrap()
                .parent()
                .unwrap()
                .to_string(),
            "\\"
        );
        assert!(PoolPath::parse("\\").unwrap().parent().is_none());
    }

    proptest::proptest! {
        #[test]
        fn any_string_parses_or_is_invalid_name(s in "\\PC{0,80}|[a\\\\.\u{0}\u{1F600}]{0,12}") {
            match PoolPath::parse(&s) {
                Ok(p) => {
                    let again = PoolPath::parse(&p.to_string()).unwrap();
                    proptest::prop_assert_eq!(again.key(), p.key());
                    proptest::prop_assert!(p.to_string().encode_utf16().count() <= MAX_PATH_UNITS);
                }
                Err(e) => proptest::prop_assert_eq!(e.code(), 123),
            }
        }
    }
}
