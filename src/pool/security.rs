//! Security (rsm-media-pools §4): rights, descriptors, the access check, identities.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::RsmError;

/// An access mask (`NtmsAccessMask` plus the generic rights). An open newtype.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AccessMask(pub u32);

impl AccessMask {
    /// `NTMS_USE_ACCESS`: read attributes, mount media.
    pub const USE: Self = Self(0x1);
    /// `NTMS_MODIFY_ACCESS`: rename, change attributes.
    pub const MODIFY: Self = Self(0x2);
    /// `NTMS_CONTROL_ACCESS`: allocate, move, create children (§8.1: 4, not 3).
    pub const CONTROL: Self = Self(0x4);
    /// `READ_CONTROL`: read the security descriptor.
    pub const READ_CONTROL: Self = Self(0x0002_0000);
    /// `WRITE_DAC`: write the access list.
    pub const WRITE_DAC: Self = Self(0x0004_0000);
    /// `GENERIC_READ`: maps to USE | READ_CONTROL.
    pub const GENERIC_READ: Self = Self(0x8000_0000);
    /// `GENERIC_WRITE`: maps to USE | MODIFY | WRITE_DAC.
    pub const GENERIC_WRITE: Self = Self(0x4000_0000);
    /// `GENERIC_EXECUTE`: maps to full access.
    pub const GENERIC_EXECUTE: Self = Self(0x2000_0000);
    /// `GENERIC_ALL`: maps to full access.
    pub const GENERIC_ALL: Self = Self(0x1000_0000);
    /// Every specific right: USE | MODIFY | CONTROL | READ_CONTROL | WRITE_DAC.
    pub const FULL: Self = Self(0x1 | 0x2 | 0x4 | 0x0002_0000 | 0x0004_0000);
    /// The bits a descriptor may hold.
    pub const VALID: Self = Self(Self::FULL.0 | 0xF000_0000);

    const NAMED: [(AccessMask, &'static str); 5] = [
        (Self::USE, "use"),
        (Self::MODIFY, "modify"),
        (Self::CONTROL, "control"),
        (Self::READ_CONTROL, "read-control"),
        (Self::WRITE_DAC, "write-dac"),
    ];

    /// The generic mapping of §4.1: generic bits replaced by the specific rights they stand for.
    pub fn map_generic(self) -> AccessMask {
        let mut m = self.0 & Self::FULL.0;
        if self.0 & Self::GENERIC_READ.0 != 0 {
            m |= Self::USE.0 | Self::READ_CONTROL.0;
        }
        if self.0 & Self::GENERIC_WRITE.0 != 0 {
            m |= Self::USE.0 | Self::MODIFY.0 | Self::WRITE_DAC.0;
        }
        if self.0 & (Self::GENERIC_EXECUTE.0 | Self::GENERIC_ALL.0) != 0 {
            m |= Self::FULL.0;
        }
        AccessMask(m)
    }

    /// Whether every bit of `other` is set here.
    pub fn contains(self, other: AccessMask) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names of the specific rights set (`use`, `modify`, `control`, `read-control`,
    /// `write-dac`), after the generic mapping.
    pub fn names(self) -> Vec<&'static str> {
        let m = self.map_generic();
        Self::NAMED
            .iter()
            .filter(|(r, _)| m.contains(*r))
            .map(|(_, n)| *n)
            .collect()
    }

    /// Parses a comma list of right names as cli.md writes them, or `all`.
    ///
    /// # Errors
    /// `ERROR_INVALID_PARAMETER` naming the unknown right.
    pub fn parse_list(list: &str) -> Result<AccessMask, RsmError> {
        let mut m = 0;
        for word in list.split(',') {
            let word = word.trim();
            m |= if word.eq_ignore_ascii_case("all") {
                Self::FULL.0
            } else {
                Self::NAMED
                    .iter()
                    .find(|(_, n)| n.eq_ignore_ascii_case(word))
                    .map(|(r, _)| r.0)
                    .ok_or_else(|| {
                        RsmError::InvalidParameter(format!(
                            "unknown right {word:?}: use, modify, control, read-control, write-dac or all"
                        ))
                    })?
            };
        }
        Ok(AccessMask(m))
    }
}

impl std::ops::BitOr for AccessMask {
    type Output = AccessMask;
    fn bitor(self, rhs: AccessMask) -> AccessMask {
        AccessMask(self.0 | rhs.0)
    }
}

impl fmt::Debug for AccessMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessMask({:#x})", self.0)
    }
}

/// Whether an entry grants or refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AceKind {
    /// Grants its rights.
    Allow,
    /// Refuses its rights.
    Deny,
}

/// Whom an entry is about. Written `uid:N`, `gid:N` or `everyone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    /// One user.
    Uid(u32),
    /// Members of one group (primary or supplementary).
    Gid(u32),
    /// Everybody.
    Everyone,
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Who::Uid(u) => write!(f, "uid:{u}"),
            Who::Gid(g) => write!(f, "gid:{g}"),
            Who::Everyone => f.write_str("everyone"),
        }
    }
}

impl FromStr for Who {
    type Err = RsmError;
    fn from_str(s: &str) -> Result<Who, RsmError> {
        let bad = || RsmError::InvalidParameter(format!("{s:?} is not uid:N, gid:N or everyone"));
        if s.eq_ignore_ascii_case("everyone") {
            return Ok(Who::Everyone);
        }
        let (kind, n) = s.split_once(':').ok_or_else(bad)?;
        let n: u32 = n.parse().map_err(|_| bad())?;
        if kind.eq_ignore_ascii_case("uid") {
            Ok(Who::Uid(n))
        } else if kind.eq_ignore_ascii_case("gid") {
            Ok(Who::Gid(n))
        } else {
            Err(bad())
        }
    }
}

impl Serialize for Who {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Who {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// One access-control entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ace {
    /// Allow or deny.
    pub kind: AceKind,
    /// Whom it is about.
    pub who: Who,
    /// Its rights (generic bits allowed; mapped when checked).
    pub mask: AccessMask,
}

impl Ace {
    /// An allowing entry.
    pub fn allow(who: Who, mask: AccessMask) -> Ace {
        Ace {
            kind: AceKind::Allow,
            who,
            mask,
        }
    }

    /// A denying entry.
    pub fn deny(who: Who, mask: AccessMask) -> Ace {
        Ace {
            kind: AceKind::Deny,
            who,
            mask,
        }
    }

    /// Parses an entry as `reel pool create --allow/--deny` writes it: `uid:N:RIGHTS`,
    /// `gid:N:RIGHTS` or `everyone:RIGHTS`. The one ACE grammar: the CLI and the daemon both
    /// use it. Keywords and right names compare case-insensitively (as pool names do), and
    /// spaces around right names are ignored.
    ///
    /// # Errors
    /// `ERROR_INVALID_PARAMETER` naming what is wrong.
    pub fn parse(kind: AceKind, s: &str) -> Result<Ace, RsmError> {
        let (who, rights) = s.rsplit_once(':').ok_or_else(|| {
            RsmError::InvalidParameter(format!(
                "{s:?} is not uid:N:RIGHTS, gid:N:RIGHTS or everyone:RIGHTS"
            ))
        })?;
        Ok(Ace {
            kind,
            who: who.parse()?,
            mask: AccessMask::parse_list(rights)?,
        })
    }

    fn matches(&self, id: &Identity) -> bool {
        match self.who {
            Who::Uid(u) => u == id.uid,
            Who::Gid(g) => id.gids.contains(&g),
            Who::Everyone => true,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct AceJson {
    kind: AceKind,
    who: Who,
    rights: Vec<String>,
}

impl Serialize for Ace {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AceJson {
            kind: self.kind,
            who: self.who,
            rights: self.mask.names().into_iter().map(str::to_owned).collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Ace {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = AceJson::deserialize(d)?;
        let mask = AccessMask::parse_list(&j.rights.join(",")).map_err(serde::de::Error::custom)?;
        Ok(Ace {
            kind: j.kind,
            who: j.who,
            mask,
        })
    }
}

/// The owner of a securable object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// Its uid.
    pub uid: u32,
}

/// A security descriptor: an owner and an ordered access list.
///
/// Serialises as cli.md's `security` document:
/// `{"owner": {"uid": N}, "entries": [{"kind", "who", "rights"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SecurityDescriptor {
    /// The owner, who may always read and write the access list.
    pub owner: Owner,
    /// Entries, checked in order.
    pub entries: Vec<Ace>,
}

/// Most entries a descriptor may hold.
pub const MAX_ENTRIES: usize = 1024;

impl SecurityDescriptor {
    /// A descriptor of `owner_uid` with these entries.
    pub fn new(owner_uid: u32, entries: Vec<Ace>) -> SecurityDescriptor {
        SecurityDescriptor {
            owner: Owner { uid: owner_uid },
            entries,
        }
    }

    /// The uid of the owner.
    pub fn owner_uid(&self) -> u32 {
        self.owner.uid
    }

    /// Checks that the descriptor is well formed (§3 row 5).
    ///
    /// # Errors
    /// `ERROR_INVALID_PARAMETER` when the owner or an entry names uid/gid 4294967295 (`(uid_t)-1`,
    /// "no user"), an entry has no rights or an unknown bit, or there are more than
    /// [`MAX_ENTRIES`] entries.
    pub fn validate(&self) -> Result<(), RsmError> {
        let bad = |why: String| {
            Err(RsmError::InvalidParameter(format!(
                "malformed security descriptor: {why}"
            )))
        };
        if self.owner.uid == u32::MAX {
            return bad("owner uid 4294967295 is not a user".into());
        }
        if self.entries.len() > MAX_ENTRIES {
            return bad(format!(
                "{} entries, at most {MAX_ENTRIES}",
                self.entries.len()
            ));
        }
        for (i, ace) in self.entries.iter().enumerate() {
            if matches!(ace.who, Who::Uid(u32::MAX) | Who::Gid(u32::MAX)) {
                return bad(format!("entry {i} names id 4294967295"));
            }
            if ace.mask.0 == 0 {
                return bad(format!("entry {i} has no rights"));
            }
            if ace.mask.0 & !AccessMask::VALID.0 != 0 {
                return bad(format!(
                    "entry {i} has unknown rights bits {:#x}",
                    ace.mask.0 & !AccessMask::VALID.0
                ));
            }
        }
        Ok(())
    }

    /// The access check of §4.4, without the administrator override (see
    /// [`Identity::is_admin`]): the owner holds READ_CONTROL and WRITE_DAC; then the entries are
    /// walked in order, a matching deny of a still-wanted bit refuses, matching allows
    /// accumulate, and access is granted once every wanted bit is held.
    pub fn allows(&self, who: &Identity, wanted: AccessMask) -> bool {
        let mut remaining = wanted.map_generic().0;
        if self.owner.uid == who.uid {
            remaining &= !(AccessMask::READ_CONTROL.0 | AccessMask::WRITE_DAC.0);
        }
        for ace in self.entries.iter().filter(|a| a.matches(who)) {
            if remaining == 0 {
                break;
            }
            let m = ace.mask.map_generic().0;
            match ace.kind {
                AceKind::Deny if m & remaining != 0 => return false,
                AceKind::Deny => {}
                AceKind::Allow => remaining &= !m,
            }
        }
        remaining == 0
    }
}

/// Who a session acts for: the peer credentials taken when it was opened (§4.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    /// User id.
    pub uid: u32,
    /// Primary and supplementary group ids.
    pub gids: Vec<u32>,
    /// Process id of the client.
    pub pid: u32,
}

impl Identity {
    /// An identity.
    pub fn new(uid: u32, gids: Vec<u32>, pid: u32) -> Identity {
        Identity { uid, gids, pid }
    }

    /// Whether this identity is an administrator: uid 0, or a member of `admin_gid`.
    /// Administrators have full access regardless of any access list.
    pub fn is_admin(&self, admin_gid: Option<u32>) -> bool {
        self.uid == 0 || admin_gid.is_some_and(|g| self.gids.contains(&g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: AccessMask = AccessMask::USE;
    const M: AccessMask = AccessMask::MODIFY;
    const C: AccessMask = AccessMask::CONTROL;
    const RC: AccessMask = AccessMask::READ_CONTROL;
    const WD: AccessMask = AccessMask::WRITE_DAC;

    #[test]
    fn generic_mapping() {
        let table: [(AccessMask, AccessMask); 7] = [
            (AccessMask::GENERIC_READ, U | RC),
            (AccessMask::GENERIC_WRITE, U | M | WD),
            (AccessMask::GENERIC_EXECUTE, U | M | C | RC | WD),
            (AccessMask::GENERIC_ALL, U | M | C | RC | WD),
            (U | AccessMask::GENERIC_READ, U | RC),
            (C, C),
            (AccessMask(0x8), AccessMask(0)),
        ];
        for (g, want) in table {
            assert_eq!(g.map_generic(), want, "{g:?}");
        }
        assert_eq!(AccessMask::FULL.0, 0x0006_0007);
    }

    #[test]
    fn rights_lists() {
        let table: [(&str, Option<AccessMask>); 6] = [
            ("use", Some(U)),
            ("use,modify", Some(U | M)),
            ("control, read-control,write-dac", Some(C | RC | WD)),
            ("all", Some(AccessMask::FULL)),
            ("USE", Some(U)),
            ("use,fly", None),
        ];
        for (s, want) in table {
            assert_eq!(AccessMask::parse_list(s).ok(), want, "{s}");
        }
        assert_eq!(
            AccessMask::FULL.names(),
            ["use", "modify", "control", "read-control", "write-dac"]
        );
    }

    #[test]
    fn ace_parse() {
        let table: [(&str, Option<Ace>); 7] = [
            ("uid:1000:use", Some(Ace::allow(Who::Uid(1000), U))),
            ("gid:50:use,control", Some(Ace::allow(Who::Gid(50), U | C))),
            (
                "everyone:all",
                Some(Ace::allow(Who::Everyone, AccessMask::FULL)),
            ),
            ("uid:x:use", None),
            ("user:1:use", None),
            ("uid:1", None),
            ("everyone", None),
        ];
        for (s, want) in table {
            assert_eq!(Ace::parse(AceKind::Allow, s).ok(), want, "{s}");
        }
    }

    #[test]
    fn json_shape() {
        let sd = SecurityDescriptor::new(
            1000,
            vec![Ace::deny(Who::Gid(7), M), Ace::allow(Who::Everyone, U | RC)],
        );
        let j = serde_json::to_value(&sd).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"owner": {"uid": 1000}, "entries": [
                {"kind": "deny", "who": "gid:7", "rights": ["modify"]},
                {"kind": "allow", "who": "everyone", "rights": ["use", "read-control"]},
            ]})
        );
        assert_eq!(serde_json::from_value::<SecurityDescriptor>(j).unwrap(), sd);
    }

    #[test]
    fn validate_table() {
        let ok = |e: Vec<Ace>| SecurityDescriptor::new(5, e);
        let table: Vec<(SecurityDescriptor, bool)> = vec![
            (ok(vec![]), true),
            (
                ok(vec![Ace::allow(Who::Uid(1), AccessMask::GENERIC_ALL)]),
                true,
            ),
            (SecurityDescriptor::new(u32::MAX, vec![]), false),
            (ok(vec![Ace::allow(Who::Uid(1), AccessMask(0))]), false),
            (ok(vec![Ace::allow(Who::Uid(1), AccessMask(0x8))]), false),
            (ok(vec![Ace::deny(Who::Gid(u32::MAX), U)]), false),
            (ok(vec![Ace::allow(Who::Everyone, U); MAX_ENTRIES]), true),
            (
                ok(vec![Ace::allow(Who::Everyone, U); MAX_ENTRIES + 1]),
                false,
            ),
        ];
        for (sd, valid) in table {
            let r = sd.validate();
            assert_eq!(r.is_ok(), valid, "{sd:?}");
            if let Err(e) = r {
                assert_eq!(e.code(), 87);
            }
        }
    }

    #[test]
    fn access_walk() {
        let alice = Identity::new(1000, vec![100, 200], 1);
        let bob = Identity::new(1001, vec![200], 2);
        let sd = |e: Vec<Ace>| SecurityDescriptor::new(1000, e);
        let table: Vec<(&str, SecurityDescriptor, &Identity, AccessMask, bool)> = vec![
            ("empty list refuses", sd(vec![]), &bob, U, false),
            (
                "empty list: owner reads dacl",
                sd(vec![]),
                &alice,
                RC | WD,
                true,
            ),
            ("empty list: owner has no use", sd(vec![]), &alice, U, false),
            (
                "allow matches",
                sd(vec![Ace::allow(Who::Uid(1001), U)]),
                &bob,
                U,
                true,
            ),
            (
                "allow other uid",
                sd(vec![Ace::allow(Who::Uid(1002), U)]),
                &bob,
                U,
                false,
            ),
            (
                "allow by gid",
                sd(vec![Ace::allow(Who::Gid(200), U | C)]),
                &bob,
                C,
                true,
            ),
            (
                "allows accumulate",
                sd(vec![
                    Ace::allow(Who::Gid(200), U),
                    Ace::allow(Who::Everyone, C),
                ]),
                &bob,
                U | C,
                true,
            ),
            (
                "partial allow refuses",
                sd(vec![Ace::allow(Who::Everyone, U)]),
                &bob,
                U | C,
                false,
            ),
            (
                "deny first refuses",
                sd(vec![
                    Ace::deny(Who::Uid(1001), C),
                    Ace::allow(Who::Everyone, AccessMask::FULL),
                ]),
                &bob,
                C,
                false,
            ),
            (
                "deny of another bit ignored",
                sd(vec![
                    Ace::deny(Who::Uid(1001), M),
                    Ace::allow(Who::Everyone, U),
                ]),
                &bob,
                U,
                true,
            ),
            (
                "deny after grant is late",
                sd(vec![
                    Ace::allow(Who::Everyone, U),
                    Ace::deny(Who::Uid(1001), U),
                ]),
                &bob,
                U,
                true,
            ),
            (
                "deny of still-wanted bit",
                sd(vec![
                    Ace::allow(Who::Everyone, U),
                    Ace::deny(Who::Gid(200), C),
                    Ace::allow(Who::Uid(1001), C),
                ]),
                &bob,
                U | C,
                false,
            ),
            (
                "generic in entry",
                sd(vec![Ace::allow(Who::Everyone, AccessMask::GENERIC_READ)]),
                &bob,
                U | RC,
                true,
            ),
            (
                "generic wanted",
                sd(vec![Ace::allow(Who::Everyone, U | M | WD)]),
                &bob,
                AccessMask::GENERIC_WRITE,
                true,
            ),
            (
                "deny does not take owner's dacl rights",
                sd(vec![Ace::deny(Who::Uid(1000), AccessMask::FULL)]),
                &alice,
                WD,
                true,
            ),
            (
                "deny everyone",
                sd(vec![Ace::deny(Who::Everyone, U)]),
                &alice,
                U,
                false,
            ),
        ];
        for (what, sd, who, wanted, want) in table {
            assert_eq!(sd.allows(who, wanted), want, "{what}");
        }
    }

    #[test]
    fn administrators() {
        let table: [(Identity, Option<u32>, bool); 5] = [
            (Identity::new(0, vec![], 1), None, true),
            (Identity::new(5, vec![10], 1), Some(10), true),
            (Identity::new(5, vec![10], 1), Some(11), false),
            (Identity::new(5, vec![10], 1), None, false),
            (Identity::new(0, vec![], 1), Some(11), true),
        ];
        for (id, g, admin) in table {
            assert_eq!(id.is_admin(g), admin, "{id:?} {g:?}");
        }
    }
}
