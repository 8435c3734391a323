//! Service tests: the §3 table row by row, the §5 functions, security defaults, concurrency,
//! persistence, and database errors provoked for real.
#![allow(clippy::type_complexity)] // case tables are tuples: one row per line reads like the spec

use std::path::PathBuf;
use std::sync::Barrier;
use std::time::Duration;

use tempfile::TempDir;

use super::*;
use crate::db::testing::{count_rows, WriteLock};
use crate::pool::{AceKind, NTMS_ALLOCATE_FROMSCRATCH, NTMS_DEALLOCATE_TOSCRATCH};

const ADMIN_GID: u32 = 50;
const ALICE: u32 = 1000;
const BOB: u32 = 1001;

fn lib(serial: &str) -> LibraryIdentity {
    LibraryIdentity {
        serial: serial.into(),
        vendor: "IBM".into(),
        product: "3573-TL".into(),
        revision: "F.11".into(),
    }
}

fn base_config() -> Config {
    Config {
        admin_gid: Some(ADMIN_GID),
        ..Config::default()
    }
}

/// A service with one library (LTO-7, LTO-8, LTO-M8), and:
/// - the root pool granting alice CONTROL besides the defaults;
/// - `\App` (alice, no type), `\App\Media` (alice, LTO-8);
/// - `\Locked` (root, access list: uid 0 only).
struct Fx {
    dir: TempDir,
    rsm: Rsm,
    root: SessionId,
    admin: SessionId,
    alice: SessionId,
    bob: SessionId,
}

impl Fx {
    fn path(dir: &TempDir) -> PathBuf {
        dir.path().join("reel.db")
    }

    fn new() -> Fx {
        Self::with_config(base_config())
    }

    fn with_config(config: Config) -> Fx {
        let dir = TempDir::new().unwrap();
        let rsm = Rsm::open(&Self::path(&dir), config).unwrap();
        rsm.register_library(
            &lib("LIB1"),
            &[MediaType::Lto7, MediaType::Lto8, MediaType::LtoM8],
        )
        .unwrap();
        rsm.set_ready(true);
        let fx = Fx::sessions(dir, rsm);
        let mut root_sd = fx.rsm.get_security(fx.root, fx.rsm.root_pool()).unwrap();
        root_sd
            .entries
            .push(Ace::allow(Who::Uid(ALICE), AccessMask::CONTROL));
        fx.rsm
            .set_security(fx.root, fx.rsm.root_pool(), &root_sd)
            .unwrap();
        fx.create(fx.alice, "\\App", None).unwrap();
        fx.create(fx.alice, "\\App\\Media", Some("LTO-8")).unwrap();
        let locked = SecurityDescriptor::new(0, vec![Ace::allow(Who::Uid(0), AccessMask::FULL)]);
        fx.rsm
            .create_media_pool(
                fx.root,
                Some("\\Locked"),
                None,
                NTMS_CREATE_NEW,
                Some(&locked),
            )
            .unwrap();
        fx
    }

    fn sessions(dir: TempDir, rsm: Rsm) -> Fx {
        let root = rsm.open_session(Identity::new(0, vec![0], 1));
        let admin = rsm.open_session(Identity::new(10, vec![10, ADMIN_GID], 2));
        let alice = rsm.open_session(Identity::new(ALICE, vec![ALICE, 100], 3));
        let bob = rsm.open_session(Identity::new(BOB, vec![BOB, 100], 4));
        Fx {
            dir,
            rsm,
            root,
            admin,
            alice,
            bob,
        }
    }

    /// Closes the service and opens it again on the same file with `config`.
    fn reopen(self, config: Config) -> Fx {
        let Fx { dir, rsm, .. } = self;
        drop(rsm);
        let rsm = Rsm::open(&Self::path(&dir), config).unwrap();
        rsm.set_ready(true);
        Fx::sessions(dir, rsm)
    }

    fn create(
        &self,
        s: SessionId,
        name: &str,
        media: Option<&str>,
    ) -> Result<(Uuid, bool), RsmError> {
        let media = media.map(MediaTypeRef::parse);
        self.rsm
            .create_media_pool(s, Some(name), media.as_ref(), NTMS_CREATE_NEW, None)
    }

    fn id(&self, name: &str) -> Option<Uuid> {
        self.rsm.find_pool(self.root, name).ok()
    }

    fn info(&self, name: &str) -> PoolInfo {
        self.rsm
            .get_pool_info(self.root, self.id(name).unwrap())
            .unwrap()
    }

    fn pool_count(&self) -> u64 {
        count_rows(&Self::path(&self.dir), "pools").unwrap()
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, RsmError>) -> u32 {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Closed,
    Root,
    Admin,
    Alice,
    Bob,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Setup {
    None,
    NotReady,
    /// The database file is garbage when the service opens.
    UnreadableDb,
    /// The configured object limit is reached.
    Full,
    /// Another connection holds the write lock.
    Locked,
}

struct Case {
    row: u32,
    what: &'static str,
    setup: Setup,
    caller: Caller,
    name: Option<&'static str>,
    media: Option<&'static str>,
    action: u32,
    security: Option<SecurityDescriptor>,
    /// `Ok(created)` or `Err(code)`.
    want: Result<bool, u32>,
}

fn case(
    row: u32,
    what: &'static str,
    caller: Caller,
    name: &'static str,
    action: u32,
    want: Result<bool, u32>,
) -> Case {
    Case {
        row,
        what,
        setup: Setup::None,
        caller,
        name: Some(name),
        media: None,
        action,
        security: None,
        want,
    }
}

impl Case {
    fn setup(mut self, s: Setup) -> Case {
        self.setup = s;
        self
    }
    fn media(mut self, m: &'static str) -> Case {
        self.media = Some(m);
        self
    }
    fn security(mut self, sd: SecurityDescriptor) -> Case {
        self.security = Some(sd);
        self
    }
    fn no_name(mut self) -> Case {
        self.name = None;
        self
    }
}

/// rsm-media-pools §3, every row, in the order of the table. Each case runs on a fresh
/// fixture; after a failure the pool must not exist and no row may have been written.
#[test]
fn create_media_pool_decision_table() {
    use Caller::*;
    let (open, new, always) = (NTMS_OPEN_EXISTING, NTMS_CREATE_NEW, NTMS_OPEN_ALWAYS);
    let malformed = SecurityDescriptor::new(ALICE, vec![Ace::allow(Who::Everyone, AccessMask(0))]);
    let bad_owner = SecurityDescriptor::new(u32::MAX, vec![]);
    let unknown_type = Uuid::new_v4().to_string().leak();
    let lto8_id = MediaType::Lto8.id().to_string().leak();
    let cases = vec![
        case(1, "closed session", Closed, "\\App\\X", new, Err(6)),
        case(
            1,
            "closed session beats a bad action",
            Closed,
            "\\App\\X",
            9,
            Err(6),
        ),
        case(2, "service not ready", Alice, "\\App\\X", new, Err(21)).setup(Setup::NotReady),
        case(2, "not ready beats a missing name", Alice, "", new, Err(21))
            .setup(Setup::NotReady)
            .no_name(),
        case(3, "name absent", Alice, "", new, Err(87)).no_name(),
        case(4, "action 0", Alice, "\\App\\X", 0, Err(87)),
        case(4, "action 4", Alice, "\\App\\X", 4, Err(87)),
        case(4, "bad action beats a bad name", Alice, "\\\\", 7, Err(87)),
        case(5, "entry without rights", Alice, "\\App\\X", new, Err(87))
            .security(malformed.clone()),
        case(5, "owner uid -1", Alice, "\\App\\X", new, Err(87)).security(bad_owner),
        case(
            5,
            "malformed descriptor beats a bad name",
            Alice,
            "\\a\\",
            new,
            Err(87),
        )
        .security(malformed),
        case(6, "trailing separator", Alice, "\\App\\", new, Err(123)),
        case(6, "empty component", Alice, "\\App\\\\X", new, Err(123)),
        case(6, "the root itself", Alice, "\\", always, Err(123)),
        case(
            6,
            "64-unit component",
            Alice,
            "\\App\\aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            new,
            Err(123),
        ),
        case(
            6,
            "control character",
            Alice,
            "\\App\\a\u{1}",
            open,
            Err(123),
        ),
        case(6, "dot-dot", Alice, "\\App\\..", always, Err(123)),
        case(
            7,
            "database cannot be read",
            Alice,
            "\\App",
            open,
            Err(4313),
        )
        .setup(Setup::UnreadableDb),
        case(
            8,
            "open existing: absent",
            Alice,
            "\\App\\Nope",
            open,
            Err(4312),
        ),
        case(
            8,
            "open existing: absent parent too",
            Alice,
            "\\Nope\\Nope",
            open,
            Err(4312),
        ),
        case(8, "open existing: no USE", Bob, "\\Locked", open, Err(5)),
        case(
            8,
            "open existing: present",
            Alice,
            "\\App\\Media",
            open,
            Ok(false),
        ),
        case(
            8,
            "open existing: case-insensitive, bare name",
            Alice,
            "app\\MEDIA",
            open,
            Ok(false),
        ),
        case(
            8,
            "open existing: system pool",
            Bob,
            "\\Free\\LTO-8",
            open,
            Ok(false),
        ),
        case(
            8,
            "open existing ignores the media type",
            Alice,
            "\\App",
            open,
            Ok(false),
        )
        .media("LTO-4"),
        case(
            9,
            "create new: parent absent",
            Alice,
            "\\Nope\\X",
            new,
            Err(4312),
        ),
        case(
            9,
            "open always: parent absent",
            Alice,
            "\\App\\Nope\\X",
            always,
            Err(4312),
        ),
        case(
            9,
            "parent absent beats no access",
            Bob,
            "\\Nope\\X",
            new,
            Err(4312),
        ),
        case(
            10,
            "open always: present",
            Alice,
            "\\App\\Media",
            always,
            Ok(false),
        ),
        case(
            10,
            "open always: present, no CONTROL needed",
            Bob,
            "\\Free\\LTO-8",
            always,
            Ok(false),
        ),
        case(
            10,
            "open always: present, no USE",
            Bob,
            "\\Locked",
            always,
            Err(5),
        ),
        case(
            10,
            "open always ignores a different media type",
            Alice,
            "\\App\\Media",
            always,
            Ok(false),
        )
        .media("LTO-7"),
        case(
            11,
            "no CONTROL on the root pool",
            Bob,
            "\\BobPool",
            new,
            Err(5),
        ),
        case(
            11,
            "no CONTROL on the parent",
            Alice,
            "\\Locked\\X",
            new,
            Err(5),
        ),
        case(
            11,
            "no CONTROL on the root, open always",
            Bob,
            "\\App\\X",
            always,
            Err(5),
        ),
        case(11, "access before existence", Bob, "\\App", new, Err(5)),
        case(12, "create new: present", Alice, "\\App", new, Err(183)),
        case(
            12,
            "create new: present, other case",
            Alice,
            "\\APP\\media",
            new,
            Err(183),
        ),
        case(
            12,
            "create new: system container",
            Root,
            "\\Free",
            new,
            Err(183),
        ),
        case(
            12,
            "create new: system container, other case",
            Admin,
            "unrecognized",
            new,
            Err(183),
        ),
        case(
            12,
            "create new: system pool",
            Root,
            "\\Import\\LTO-7",
            new,
            Err(183),
        ),
        case(
            13,
            "under the Free container",
            Root,
            "\\Free\\X",
            new,
            Err(4302),
        ),
        case(
            13,
            "under a Free pool",
            Admin,
            "\\Free\\LTO-8\\X",
            always,
            Err(4302),
        ),
        case(13, "under Import", Root, "\\Import\\X", new, Err(4302)),
        case(
            13,
            "under a pool that holds media",
            Alice,
            "\\App\\Media\\X",
            new,
            Err(4302),
        ),
        case(
            14,
            "media type not in the catalogue",
            Alice,
            "\\App\\X",
            new,
            Err(4300),
        )
        .media("LTO-4"),
        case(
            14,
            "media type no library detects",
            Alice,
            "\\App\\X",
            new,
            Err(4300),
        )
        .media("LTO-9"),
        case(
            14,
            "media type id unknown",
            Alice,
            "\\App\\X",
            always,
            Err(4300),
        )
        .media(unknown_type),
        case(
            15,
            "object limit reached",
            Alice,
            "\\App\\X",
            new,
            Err(4314),
        )
        .setup(Setup::Full),
        case(
            16,
            "write lock held elsewhere",
            Alice,
            "\\App\\X",
            new,
            Err(4313),
        )
        .setup(Setup::Locked),
        case(17, "create new", Alice, "\\App\\X", new, Ok(true)),
        case(
            17,
            "open always creates",
            Alice,
            "\\App\\X",
            always,
            Ok(true),
        ),
        case(
            17,
            "with a media type by name, any case",
            Alice,
            "\\App\\X",
            new,
            Ok(true),
        )
        .media("lto-m8"),
        case(
            17,
            "with a media type by id",
            Alice,
            "\\App\\X",
            new,
            Ok(true),
        )
        .media(lto8_id),
        case(17, "top level, bare name", Alice, "Top", new, Ok(true)),
        case(
            17,
            "administrator by group",
            Admin,
            "\\Locked\\X",
            new,
            Ok(true),
        ),
        case(17, "with a descriptor", Alice, "\\App\\X", new, Ok(true)).security(
            SecurityDescriptor::new(0, vec![Ace::allow(Who::Uid(BOB), AccessMask::USE)]),
        ),
        case(17, "slash is ordinary", Alice, "\\App\\a/b", new, Ok(true)),
    ];
    let mut rows_seen = BTreeSet::new();
    for c in cases {
        rows_seen.insert(c.row);
        let label = format!("row {} ({}): {:?}", c.row, c.what, c.name);
        let config = Config {
            db: DbConfig {
                busy_timeout: Duration::from_millis(50),
                ..DbConfig::default()
            },
            ..base_config()
        };
        let mut fx = Fx::with_config(config.clone());
        if c.setup == Setup::UnreadableDb {
            let path = Fx::path(&fx.dir);
            drop(fx.rsm);
            std::fs::write(&path, vec![0xA5; 8192]).unwrap();
            let _ = std::fs::remove_file(path.with_extension("db-wal"));
            let got = Rsm::open(&path, config.clone())
                .map(drop)
                .map_err(|e| e.code());
            assert_eq!(got, c.want.map(drop), "{label}");
            continue;
        }
        if c.setup == Setup::Full {
            let n = fx.rsm.object_count();
            let mut cfg = config.clone();
            cfg.db.max_objects = Some(n);
            fx = fx.reopen(cfg);
        }
        let session = match c.caller {
            Caller::Closed => {
                fx.rsm.close_session(fx.alice).unwrap();
                fx.alice
            }
            Caller::Root => fx.root,
            Caller::Admin => fx.admin,
            Caller::Alice => fx.alice,
            Caller::Bob => fx.bob,
        };
        if c.setup == Setup::NotReady {
            fx.rsm.set_ready(false);
        }
        let before = fx.pool_count();
        let lock = (c.setup == Setup::Locked).then(|| WriteLock::hold(&Fx::path(&fx.dir)).unwrap());
        let media = c.media.map(MediaTypeRef::parse);
        let got = fx.rsm.create_media_pool(
            session,
            c.name,
            media.as_ref(),
            c.action,
            c.security.as_ref(),
        );
        drop(lock);
        fx.rsm.set_ready(true);
        match (&got, c.want) {
            (Ok((id, created)), Ok(want_created)) => {
                assert_eq!(*created, want_created, "{label}");
                let info = fx.rsm.get_pool_info(fx.root, *id).unwrap();
                let path = PoolPath::parse(c.name.unwrap()).unwrap();
                assert_eq!(
                    PoolPath::parse(&info.name).unwrap().key(),
                    path.key(),
                    "{label}"
                );
                if want_created {
                    assert_eq!(info.name, path.to_string(), "{label}: case preserved");
                    assert_eq!(info.kind, PoolKind::Application, "{label}");
                    assert_eq!(
                        info.media_type,
                        media.as_ref().and_then(MediaTypeRef::resolve),
                        "{label}"
                    );
                    let who = fx.rsm.session_identity(session).unwrap();
                    assert_eq!(info.owner.uid, who.uid, "{label}: owner is the caller");
                    assert_eq!(
                        (
                            info.allocation_policy,
                            info.deallocation_policy,
                            info.max_allocates
                        ),
                        (0, 0, 0)
                    );
                    assert_eq!(fx.pool_count(), before + 1, "{label}");
                    if let Some(sd) = &c.security {
                        let got = fx.rsm.get_security(fx.root, *id).unwrap();
                        assert_eq!(got.entries, sd.entries, "{label}");
                        assert_eq!(got.owner.uid, who.uid, "{label}");
                    }
                } else {
                    assert_eq!(fx.pool_count(), before, "{label}");
                }
            }
            (Err(e), Err(want)) => {
                assert_eq!(e.code(), want, "{label}: {e}");
                assert_eq!(fx.pool_count(), before, "{label}: nothing written");
                if let (Some(name), Ok(path)) = (c.name, PoolPath::parse(c.name.unwrap_or(""))) {
                    let existed = ["\\App", "\\App\\Media", "\\Locked"]
                        .iter()
                        .any(|n| PoolPath::parse(n).unwrap().key() == path.key())
                        || path.components().first().is_some_and(|c| {
                            ["free", "import", "unrecognized"].contains(&fold(c).as_str())
                        });
                    if !existed && !path.is_root() {
                        assert_eq!(fx.id(name), None, "{label}: no pool was made");
                    }
                }
            }
            (got, want) => panic!("{label}: got {got:?}, want {want:?}"),
        }
    }
    assert_eq!(
        rows_seen,
        (1..=17).collect::<BTreeSet<u32>>(),
        "every row of §3 has a case"
    );
}

#[test]
fn sixteen_threads_open_always_one_name() {
    let fx = Fx::new();
    let barrier = Barrier::new(16);
    let results: Vec<(Uuid, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let rsm = &fx.rsm;
                let barrier = &barrier;
                s.spawn(move || {
                    let session = rsm.open_session(Identity::new(ALICE, vec![ALICE], 100 + i));
                    barrier.wait();
                    rsm.create_media_pool(
                        session,
                        Some("\\App\\Shared"),
                        None,
                        NTMS_OPEN_ALWAYS,
                        None,
                    )
                    .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first = results[0].0;
    assert!(results.iter().all(|(id, _)| *id == first), "{results:?}");
    assert_eq!(
        results.iter().filter(|(_, created)| *created).count(),
        1,
        "{results:?}"
    );
    assert_eq!(fx.id("\\App\\Shared"), Some(first));
}

#[test]
fn many_threads_create_distinct_pools() {
    let fx = Fx::new();
    let before = fx.pool_count();
    std::thread::scope(|s| {
        for t in 0..8 {
            let fx = &fx;
            s.spawn(move || {
                for i in 0..20 {
                    let name = format!("\\App\\T{t}-{i}");
                    fx.rsm
                        .create_media_pool(fx.alice, Some(&name), None, NTMS_CREATE_NEW, None)
                        .unwrap();
                    assert!(fx.id(&name).is_some());
                }
            });
        }
    });
    assert_eq!(fx.pool_count(), before + 160);
    let ids = fx
        .rsm
        .enumerate_pools(fx.alice, fx.id("\\App"), NTMS_ENUM_DEFAULT)
        .unwrap();
    assert_eq!(ids.len(), 161);
}

#[test]
fn service_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Rsm>();
}

#[test]
fn default_descriptors() {
    let fx = Fx::with_config(Config {
        system_uid: Some(999),
        ..base_config()
    });
    let full = |u| Ace::allow(Who::Uid(u), AccessMask::FULL);
    let root_sd = fx.rsm.get_security(fx.root, fx.rsm.root_pool()).unwrap();
    assert_eq!(
        root_sd,
        SecurityDescriptor::new(
            0,
            vec![
                full(0),
                Ace::allow(Who::Gid(ADMIN_GID), AccessMask::FULL),
                Ace::allow(Who::Everyone, AccessMask::USE),
                Ace::allow(Who::Uid(ALICE), AccessMask::CONTROL),
            ]
        ),
        "default root descriptor (plus the fixture's grant to alice)"
    );
    let app = fx
        .rsm
        .get_security(fx.root, fx.id("\\App").unwrap())
        .unwrap();
    assert_eq!(
        app,
        SecurityDescriptor::new(ALICE, vec![full(ALICE), full(0), full(999)]),
        "parent is root"
    );
    // A child copies its parent's entries, then adds creator and local system when missing.
    let mut root_sd = fx.rsm.get_security(fx.root, fx.rsm.root_pool()).unwrap();
    root_sd
        .entries
        .push(Ace::allow(Who::Uid(BOB), AccessMask::CONTROL));
    fx.rsm
        .set_security(fx.root, fx.rsm.root_pool(), &root_sd)
        .unwrap();
    let mut sd = app.clone();
    sd.entries
        .insert(0, Ace::deny(Who::Uid(BOB), AccessMask::MODIFY));
    sd.entries.push(Ace::allow(
        Who::Everyone,
        AccessMask::USE | AccessMask::CONTROL,
    ));
    fx.rsm
        .set_security(fx.alice, fx.id("\\App").unwrap(), &sd)
        .unwrap();
    let (child, _) = fx
        .rsm
        .create_media_pool(
            fx.bob,
            Some("\\App\\BobsChild"),
            None,
            NTMS_CREATE_NEW,
            None,
        )
        .unwrap();
    let child_sd = fx.rsm.get_security(fx.root, child).unwrap();
    let mut want = sd.entries.clone();
    want.push(full(BOB));
    assert_eq!(child_sd, SecurityDescriptor::new(BOB, want));
    // Copied once: a later change to the parent does not reach the child.
    fx.rsm
        .set_security(
            fx.alice,
            fx.id("\\App").unwrap(),
            &SecurityDescriptor::new(ALICE, vec![]),
        )
        .unwrap();
    assert_eq!(fx.rsm.get_security(fx.root, child).unwrap(), child_sd);
    // System pools carry the root default.
    let free = fx
        .rsm
        .get_security(fx.root, fx.id("\\Free\\LTO-8").unwrap())
        .unwrap();
    assert_eq!(free.owner.uid, 0);
    assert!(free
        .entries
        .contains(&Ace::allow(Who::Everyone, AccessMask::USE)));
}

#[test]
fn configured_root_descriptor() {
    let sd = SecurityDescriptor::new(0, vec![Ace::allow(Who::Everyone, AccessMask::FULL)]);
    let dir = TempDir::new().unwrap();
    let rsm = Rsm::open(
        &dir.path().join("r.db"),
        Config {
            root_security: Some(sd.clone()),
            ..Config::default()
        },
    )
    .unwrap();
    rsm.set_ready(true);
    let anyone = rsm.open_session(Identity::new(4242, vec![], 1));
    assert_eq!(rsm.get_security(anyone, rsm.root_pool()).unwrap(), sd);
    rsm.create_media_pool(anyone, Some("Mine"), None, NTMS_CREATE_NEW, None)
        .unwrap();
    let bad = Config {
        root_security: Some(SecurityDescriptor::new(u32::MAX, vec![])),
        ..Config::default()
    };
    assert_eq!(code(Rsm::open(&dir.path().join("bad.db"), bad)), 87);
}

#[test]
fn register_library_is_idempotent_and_makes_system_pools() {
    let fx = Fx::new();
    let pools = fx.pool_count();
    let id = fx.rsm.libraries()[0].id;
    let again = fx
        .rsm
        .register_library(
            &lib("LIB1"),
            &[
                MediaType::Lto8,
                MediaType::Lto7,
                MediaType::LtoM8,
                MediaType::Lto8,
            ],
        )
        .unwrap();
    assert_eq!(again, id);
    assert_eq!(fx.pool_count(), pools, "no new pools");
    for kind in ["Free", "Import", "Unrecognized"] {
        let container = fx.info(&format!("\\{kind}"));
        assert_eq!(container.media_type, None);
        assert_eq!(container.parent, None);
        let children = fx
            .rsm
            .list_pools(fx.root, Some(container.id), NTMS_ENUM_DEFAULT)
            .unwrap();
        let names: Vec<&str> = children.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                format!("\\{kind}\\LTO-7"),
                format!("\\{kind}\\LTO-8"),
                format!("\\{kind}\\LTO-M8")
            ]
        );
        for c in &children {
            assert_eq!(c.kind, container.kind);
            assert_eq!(c.parent, Some(container.id));
            assert_eq!(c.media_type.map(|t| t.name()), c.name.rsplit('\\').next());
        }
    }
    assert_eq!(fx.info("\\Free\\LTO-8").kind, PoolKind::Free);
    assert_eq!(fx.info("\\Import\\LTO-8").pool_type, 3);
    assert_eq!(fx.info("\\Unrecognized\\LTO-8").pool_type, 2);
    // A second library adds its types; a type no longer detected keeps its pools.
    fx.rsm
        .register_library(&lib("LIB2"), &[MediaType::Lto9])
        .unwrap();
    fx.rsm
        .register_library(&lib("LIB1"), &[MediaType::Lto8])
        .unwrap();
    assert_eq!(fx.pool_count(), pools + 3);
    let detected: Vec<(&str, Vec<String>)> = fx
        .rsm
        .detected_media_types()
        .iter()
        .map(|d| (d.name.name(), d.libraries.clone()))
        .collect();
    assert_eq!(
        detected,
        [
            ("LTO-8", vec!["LIB1".to_owned()]),
            ("LTO-9", vec!["LIB2".to_owned()])
        ]
    );
    assert!(fx.id("\\Free\\LTO-7").is_some());
    // LTO-7 is no longer detected: new pools of that type are refused.
    assert_eq!(
        code(fx.create(fx.alice, "\\App\\Seven", Some("LTO-7"))),
        4300
    );
    assert_eq!(code(fx.rsm.register_library(&lib("  "), &[])), 87);
    // Survives a restart with the same ids.
    let free8 = fx.id("\\Free\\LTO-8");
    let fx = fx.reopen(base_config());
    assert_eq!(fx.id("\\Free\\LTO-8"), free8);
    assert_eq!(fx.rsm.libraries().len(), 2);
    assert_eq!(fx.rsm.detected_media_types().len(), 2);
}

#[test]
fn registering_before_ready_and_not_ready_calls() {
    let dir = TempDir::new().unwrap();
    let rsm = Rsm::open(&dir.path().join("r.db"), Config::default()).unwrap();
    let s = rsm.open_session(Identity::new(0, vec![], 1));
    assert!(!rsm.is_ready());
    rsm.register_library(&lib("L"), &[MediaType::Lto8]).unwrap();
    let root = rsm.root_pool();
    let table: Vec<(&str, u32)> = vec![
        (
            "create",
            code(rsm.create_media_pool(s, Some("X"), None, 2, None)),
        ),
        ("find", code(rsm.find_pool(s, "\\Free"))),
        ("delete", code(rsm.delete_media_pool(s, root))),
        ("enumerate", code(rsm.enumerate_pools(s, None, 0))),
        ("info", code(rsm.get_pool_info(s, root))),
        ("name", code(rsm.pool_name(s, root))),
        ("get security", code(rsm.get_security(s, root))),
    ];
    for (what, c) in table {
        assert_eq!(c, 21, "{what}");
    }
    rsm.close_session(s).unwrap();
    assert_eq!(code(rsm.close_session(s)), 6);
    assert_eq!(code(rsm.get_pool_info(s, root)), 6);
}

#[test]
fn delete_table() {
    let fx = Fx::new();
    fx.create(fx.alice, "\\App\\Empty", None).unwrap();
    let table: Vec<(&str, SessionId, Uuid, Result<(), u32>)> = vec![
        ("nil id", fx.alice, Uuid::nil(), Err(87)),
        ("unknown id", fx.alice, Uuid::new_v4(), Err(4302)),
        ("no MODIFY", fx.bob, fx.id("\\App\\Empty").unwrap(), Err(5)),
        ("root pool", fx.root, fx.rsm.root_pool(), Err(4302)),
        (
            "Free container",
            fx.root,
            fx.id("\\Free").unwrap(),
            Err(4302),
        ),
        (
            "a Free pool",
            fx.admin,
            fx.id("\\Free\\LTO-8").unwrap(),
            Err(4302),
        ),
        (
            "a system pool without MODIFY",
            fx.bob,
            fx.id("\\Import\\LTO-8").unwrap(),
            Err(5),
        ),
        ("holds pools", fx.alice, fx.id("\\App").unwrap(), Err(4307)),
        ("empty", fx.alice, fx.id("\\App\\Empty").unwrap(), Ok(())),
        (
            "already deleted",
            fx.alice,
            fx.id("\\App\\Empty").unwrap(),
            Err(4302),
        ),
        (
            "administrator",
            fx.admin,
            fx.id("\\App\\Media").unwrap(),
            Ok(()),
        ),
        ("now empty", fx.alice, fx.id("\\App").unwrap(), Ok(())),
    ];
    for (what, s, id, want) in table {
        let before = fx.pool_count();
        let got = fx.rsm.delete_media_pool(s, id);
        match (got, want) {
            (Ok(info), Ok(())) => {
                assert_eq!(info.id, id, "{what}");
                assert_eq!(fx.pool_count(), before - 1, "{what}");
                assert_eq!(code(fx.rsm.get_pool_info(fx.root, id)), 4312, "{what}");
            }
            (Err(e), Err(c)) => {
                assert_eq!(e.code(), c, "{what}: {e}");
                assert_eq!(fx.pool_count(), before, "{what}");
            }
            (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
        }
    }
    // The name is free again; a new pool gets a new id.
    let (id, created) = fx.create(fx.alice, "\\App", None).unwrap();
    assert!(created);
    assert_eq!(fx.id("\\App"), Some(id));
    let fx = fx.reopen(base_config());
    assert_eq!(fx.id("\\App"), Some(id));
    assert_eq!(fx.id("\\App\\Media"), None);
}

#[test]
fn enumerate_table() {
    let fx = Fx::new();
    let ids = |names: &[&str]| -> Vec<Uuid> { names.iter().map(|n| fx.id(n).unwrap()).collect() };
    let root = fx.rsm.root_pool();
    let lib_id = fx.rsm.libraries()[0].id;
    let top = ids(&["\\App", "\\Free", "\\Import", "\\Locked", "\\Unrecognized"]);
    let mut with_root = vec![root];
    with_root.extend(&top);
    let table: Vec<(&str, SessionId, Option<Uuid>, u32, Result<Vec<Uuid>, u32>)> = vec![
        ("top level, name order", fx.bob, None, 0, Ok(top.clone())),
        ("root pool first", fx.bob, None, 1, Ok(with_root)),
        (
            "children",
            fx.alice,
            fx.id("\\App"),
            0,
            Ok(ids(&["\\App\\Media"])),
        ),
        ("root pool as container", fx.bob, Some(root), 0, Ok(top)),
        ("empty", fx.alice, fx.id("\\App\\Media"), 0, Ok(vec![])),
        (
            "no USE on a child container",
            fx.bob,
            fx.id("\\App"),
            0,
            Err(5),
        ),
        ("bad option", fx.bob, None, 2, Err(87)),
        (
            "root option with container",
            fx.bob,
            fx.id("\\App"),
            1,
            Err(87),
        ),
        ("library as container", fx.bob, Some(lib_id), 0, Err(87)),
        (
            "media type as container",
            fx.bob,
            Some(MediaType::Lto8.id()),
            0,
            Err(87),
        ),
        (
            "unknown container",
            fx.bob,
            Some(Uuid::new_v4()),
            0,
            Err(4312),
        ),
        ("no USE on container", fx.bob, fx.id("\\Locked"), 0, Err(5)),
        ("administrator", fx.admin, fx.id("\\Locked"), 0, Ok(vec![])),
    ];
    for (what, s, container, options, want) in table {
        let got = fx
            .rsm
            .enumerate_pools(s, container, options)
            .map_err(|e| e.code());
        assert_eq!(got, want, "{what}");
    }
    // The C form: a short buffer is filled, and the count needed is returned.
    let all = fx.rsm.enumerate_pools(fx.bob, None, 1).unwrap();
    let mut buf = [Uuid::nil(); 2];
    match fx.rsm.enumerate_pools_into(fx.bob, None, 1, &mut buf) {
        Err(RsmError::InsufficientBuffer { needed, given }) => assert_eq!((needed, given), (6, 2)),
        other => panic!("{other:?}"),
    }
    assert_eq!(buf, all[..2]);
    let mut buf = [Uuid::nil(); 6];
    assert_eq!(
        fx.rsm
            .enumerate_pools_into(fx.bob, None, 1, &mut buf)
            .unwrap(),
        6
    );
    assert_eq!(buf.as_slice(), all.as_slice());
    let mut none: [Uuid; 0] = [];
    assert_eq!(
        fx.rsm
            .enumerate_pools_into(fx.alice, fx.id("\\App\\Media"), 0, &mut none)
            .unwrap(),
        0
    );
    let listed = fx.rsm.list_pools(fx.bob, None, 1).unwrap();
    assert_eq!(listed[0].kind, PoolKind::Root);
    assert_eq!(listed[0].name, "\\");
    assert_eq!(listed.iter().map(|p| p.id).collect::<Vec<_>>(), all);
}

#[test]
fn pool_info_and_json() {
    let fx = Fx::new();
    let info = fx.info("\\App\\Media");
    assert_eq!(info.name, "\\App\\Media");
    assert_eq!(info.parent, fx.id("\\App"));
    assert_eq!(fx.info("\\App").parent, None, "top level reports no parent");
    assert_eq!(fx.info("\\App").child_pools, 1);
    let j = serde_json::to_value(&info).unwrap();
    for (k, v) in [
        ("type", serde_json::json!("application")),
        ("media_type", serde_json::json!("LTO-8")),
        ("name", serde_json::json!("\\App\\Media")),
        ("owner", serde_json::json!({"uid": ALICE})),
        ("max_allocates", serde_json::json!(0)),
        ("child_pools", serde_json::json!(0)),
        ("physical_media", serde_json::json!(0)),
    ] {
        assert_eq!(j[k], v, "{k}");
    }
    assert_eq!(j["id"], serde_json::json!(info.id.to_string()));
    assert_eq!(
        serde_json::to_value(fx.info("\\Free")).unwrap()["type"],
        "free"
    );
    assert_eq!(
        serde_json::to_value(fx.info("\\Import\\LTO-7")).unwrap()["type"],
        "import"
    );
    assert_eq!(
        serde_json::to_value(fx.info("\\Unrecognized")).unwrap()["type"],
        "unrecognized"
    );
    let table: Vec<(&str, SessionId, Uuid, Result<(), u32>)> = vec![
        ("nil", fx.alice, Uuid::nil(), Err(87)),
        ("unknown", fx.alice, Uuid::new_v4(), Err(4312)),
        ("no USE", fx.bob, fx.id("\\Locked").unwrap(), Err(5)),
        (
            "USE from everyone",
            fx.bob,
            fx.id("\\Free\\LTO-8").unwrap(),
            Ok(()),
        ),
        ("owner", fx.alice, info.id, Ok(())),
        ("no USE on another's pool", fx.bob, info.id, Err(5)),
        ("root pool", fx.bob, fx.rsm.root_pool(), Ok(())),
    ];
    for (what, s, id, want) in table {
        assert_eq!(
            fx.rsm.get_pool_info(s, id).map(drop).map_err(|e| e.code()),
            want,
            "{what}"
        );
    }
}

#[test]
fn set_pool_info_table() {
    let fx = Fx::new();
    fx.create(fx.alice, "\\App\\Other", None).unwrap();
    fx.create(fx.alice, "\\App\\Other\\Deep", None).unwrap();
    let media = fx.id("\\App\\Media").unwrap();
    let other = fx.id("\\App\\Other").unwrap();
    let base = fx.rsm.get_pool_info(fx.alice, media).unwrap().to_update();
    let with = |f: &dyn Fn(&mut PoolUpdate)| {
        let mut u = base.clone();
        f(&mut u);
        u
    };
    let long_name = "n".repeat(63);
    let table: Vec<(&str, SessionId, Uuid, PoolUpdate, Result<(), u32>)> = vec![
        ("nil", fx.alice, Uuid::nil(), base.clone(), Err(87)),
        ("unknown", fx.alice, Uuid::new_v4(), base.clone(), Err(4312)),
        ("no MODIFY", fx.bob, media, base.clone(), Err(5)),
        (
            "allocation policy 2",
            fx.alice,
            media,
            with(&|u| u.allocation_policy = 2),
            Err(87),
        ),
        (
            "deallocation policy 7",
            fx.alice,
            media,
            with(&|u| u.deallocation_policy = 7),
            Err(87),
        ),
        (
            "description too long",
            fx.alice,
            media,
            with(&|u| u.description = "d".repeat(127)),
            Err(87),
        ),
        (
            "bad name",
            fx.alice,
            media,
            with(&|u| u.name = "a\\b".into()),
            Err(123),
        ),
        (
            "empty name",
            fx.alice,
            media,
            with(&|u| u.name = String::new()),
            Err(123),
        ),
        (
            "sibling's name",
            fx.alice,
            media,
            with(&|u| u.name = "OTHER".into()),
            Err(183),
        ),
        (
            "undetected type",
            fx.alice,
            media,
            with(&|u| u.media_type = Some("LTO-9".into())),
            Err(4300),
        ),
        (
            "type on a pool of pools",
            fx.alice,
            other,
            PoolUpdate {
                media_type: Some("LTO-8".into()),
                ..fx.rsm.get_pool_info(fx.alice, other).unwrap().to_update()
            },
            Err(4307),
        ),
        (
            "rename a system pool",
            fx.root,
            fx.id("\\Free\\LTO-8").unwrap(),
            PoolUpdate {
                name: "Mine".into(),
                ..fx.info("\\Free\\LTO-8").to_update()
            },
            Err(4302),
        ),
        (
            "retype a system pool",
            fx.root,
            fx.id("\\Free\\LTO-8").unwrap(),
            PoolUpdate {
                media_type: Some("LTO-7".into()),
                ..fx.info("\\Free\\LTO-8").to_update()
            },
            Err(4302),
        ),
        (
            "rename to 63 units",
            fx.alice,
            fx.id("\\App").unwrap(),
            PoolUpdate {
                name: "x".repeat(63),
                ..fx.info("\\App").to_update()
            },
            Ok(()),
        ),
        (
            "policies and description",
            fx.alice,
            media,
            with(&|u| {
                u.allocation_policy = NTMS_ALLOCATE_FROMSCRATCH;
                u.deallocation_policy = NTMS_DEALLOCATE_TOSCRATCH;
                u.max_allocates = 100;
                u.description = "nightly".into();
            }),
            Ok(()),
        ),
        (
            "retype an empty media pool",
            fx.alice,
            media,
            with(&|u| u.media_type = Some("LTO-M8".into())),
            Ok(()),
        ),
        (
            "rename, case only",
            fx.alice,
            media,
            with(&|u| u.name = "MEDIA".into()),
            Ok(()),
        ),
        (
            "rename",
            fx.alice,
            media,
            with(&|u| u.name = long_name.clone()),
            Ok(()),
        ),
        (
            "system pool description",
            fx.root,
            fx.id("\\Free\\LTO-8").unwrap(),
            PoolUpdate {
                description: "scratch".into(),
                ..fx.info("\\Free\\LTO-8").to_update()
            },
            Ok(()),
        ),
    ];
    let mut after_last = None;
    for (what, s, id, update, want) in table {
        let before = (!id.is_nil())
            .then(|| fx.rsm.get_pool_info(fx.root, id).ok())
            .flatten();
        match (fx.rsm.set_pool_info(s, id, &update), want) {
            (Ok(info), Ok(())) => {
                assert_eq!(info, fx.rsm.get_pool_info(fx.root, id).unwrap(), "{what}");
                let mut u = info.to_update();
                if update.media_type.is_some() {
                    assert_eq!(
                        info.media_type,
                        update.media_type.as_ref().and_then(|r| r.resolve()),
                        "{what}"
                    );
                    u.media_type = update.media_type.clone();
                }
                assert_eq!(u, update, "{what}");
                assert_eq!(
                    fx.id(&info.name),
                    Some(id),
                    "{what}: findable under the new name"
                );
                if id == media {
                    after_last = Some(info);
                }
            }
            (Err(e), Err(c)) => {
                assert_eq!(e.code(), c, "{what}: {e}");
                if let Some(before) = before {
                    assert_eq!(
                        fx.rsm.get_pool_info(fx.root, id).unwrap(),
                        before,
                        "{what}: unchanged"
                    );
                }
            }
            (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
        }
    }
    // The 511-unit limit on renames: \X (64 units) and seven levels below it.
    let top = format!("\\{}", "x".repeat(63));
    let mut path = top.clone();
    let mut ids = Vec::new();
    for (i, len) in [63, 63, 63, 63, 63, 63, 62].into_iter().enumerate() {
        path = format!("{path}\\{}", "y".repeat(len - 1) + &i.to_string());
        ids.push(fx.create(fx.alice, &path, None).unwrap().0);
    }
    assert_eq!(
        path.encode_utf16().count(),
        511,
        "the deepest path is exactly at the limit"
    );
    assert_eq!(code(fx.create(fx.alice, &format!("{path}\\w"), None)), 123);
    let mut u = fx.rsm.get_pool_info(fx.alice, ids[0]).unwrap().to_update();
    u.name = "z".into();
    fx.rsm.set_pool_info(fx.alice, ids[0], &u).unwrap();
    let deepest = fx.rsm.pool_name(fx.alice, ids[6]).unwrap();
    assert_eq!(deepest.encode_utf16().count(), 511 - 62);
    fx.create(fx.alice, &format!("{deepest}\\w"), None).unwrap();
    // Now the deepest path is 449 + 2 = 451 units: growing ids[0] by 62 would make 513.
    u.name = "z".repeat(63);
    assert_eq!(
        code(fx.rsm.set_pool_info(fx.alice, ids[0], &u)),
        123,
        "would make 513"
    );
    assert_eq!(
        fx.rsm.pool_name(fx.alice, ids[6]).unwrap(),
        deepest,
        "unchanged"
    );
    u.name = "z".repeat(61);
    fx.rsm.set_pool_info(fx.alice, ids[0], &u).unwrap();
    let w = fx.rsm.enumerate_pools(fx.alice, Some(ids[6]), 0).unwrap()[0];
    assert_eq!(
        fx.rsm
            .pool_name(fx.alice, w)
            .unwrap()
            .encode_utf16()
            .count(),
        511
    );
    // The changes persist.
    let fx = fx.reopen(base_config());
    let info = fx.rsm.get_pool_info(fx.alice, media).unwrap();
    assert_eq!(info.name, format!("\\{}\\{}", "x".repeat(63), long_name));
    assert_eq!(Some(info), after_last, "the last update persisted");
}

#[test]
fn pool_names() {
    let fx = Fx::new();
    let media = fx.id("\\App\\Media").unwrap();
    let table: Vec<(&str, SessionId, Uuid, usize, Result<&str, u32>)> = vec![
        ("full hierarchy", fx.alice, media, 512, Ok("\\App\\Media")),
        ("exact fit", fx.alice, media, 11, Ok("\\App\\Media")),
        ("one short", fx.alice, media, 10, Err(122)),
        ("root", fx.bob, fx.rsm.root_pool(), 2, Ok("\\")),
        (
            "system pool",
            fx.bob,
            fx.id("\\Free\\LTO-M8").unwrap(),
            64,
            Ok("\\Free\\LTO-M8"),
        ),
        ("unknown", fx.bob, Uuid::new_v4(), 512, Err(4302)),
        ("nil", fx.bob, Uuid::nil(), 512, Err(87)),
        ("no USE", fx.bob, fx.id("\\Locked").unwrap(), 512, Err(5)),
    ];
    for (what, s, id, cap, want) in table {
        let got = fx.rsm.pool_name_sized(s, id, cap);
        match (&got, want) {
            (Ok(n), Ok(w)) => assert_eq!(n, w, "{what}"),
            (Err(e), Err(c)) => assert_eq!(e.code(), c, "{what}"),
            _ => panic!("{what}: {got:?}"),
        }
    }
    match fx.rsm.pool_name_sized(fx.alice, media, 3) {
        Err(RsmError::InsufficientBuffer { needed, given }) => assert_eq!((needed, given), (11, 3)),
        other => panic!("{other:?}"),
    }
    // Sizes are UTF-16 units: a non-BMP character counts two.
    let (id, _) = fx.create(fx.alice, "\\App\\😀", None).unwrap();
    assert_eq!(code(fx.rsm.pool_name_sized(fx.alice, id, 7)), 122);
    assert_eq!(
        fx.rsm.pool_name_sized(fx.alice, id, 8).unwrap(),
        "\\App\\😀"
    );
}

#[test]
fn find_pool_table() {
    let fx = Fx::new();
    let table: Vec<(&str, SessionId, Result<Option<Uuid>, u32>)> = vec![
        ("\\", fx.bob, Ok(Some(fx.rsm.root_pool()))),
        ("\\app\\media", fx.alice, Ok(fx.id("\\App\\Media"))),
        ("App", fx.alice, Ok(fx.id("\\App"))),
        ("App", fx.bob, Err(5)),
        ("\\Locked", fx.bob, Err(5)),
        ("\\Nope", fx.bob, Err(4312)),
        ("\\a\\\\", fx.bob, Err(123)),
        ("", fx.bob, Err(123)),
    ];
    for (name, s, want) in table {
        assert_eq!(
            fx.rsm.find_pool(s, name).map(Some).map_err(|e| e.code()),
            want,
            "{name:?}"
        );
    }
}

#[test]
fn security_table() {
    let fx = Fx::new();
    let app = fx.id("\\App").unwrap();
    let locked = fx.id("\\Locked").unwrap();
    let lib_id = fx.rsm.libraries()[0].id;
    let sd = |owner, e: Vec<Ace>| SecurityDescriptor::new(owner, e);
    let grant_bob = sd(
        ALICE,
        vec![Ace::allow(
            Who::Uid(BOB),
            AccessMask::USE | AccessMask::READ_CONTROL,
        )],
    );
    type Row = (
        &'static str,
        SessionId,
        Uuid,
        Option<SecurityDescriptor>,
        Result<(), u32>,
    );
    let table: Vec<Row> = vec![
        // get
        ("owner reads", fx.alice, app, None, Ok(())),
        ("others need READ_CONTROL", fx.bob, app, None, Err(5)),
        ("administrator reads", fx.admin, locked, None, Ok(())),
        (
            "root pool, everyone lacks READ_CONTROL",
            fx.bob,
            fx.rsm.root_pool(),
            None,
            Err(5),
        ),
        ("library", fx.root, lib_id, None, Err(1350)),
        ("media type", fx.root, MediaType::Lto8.id(), None, Err(1350)),
        ("unknown", fx.root, Uuid::new_v4(), None, Err(4312)),
        ("nil", fx.root, Uuid::nil(), None, Err(87)),
        // set
        (
            "owner writes",
            fx.alice,
            app,
            Some(grant_bob.clone()),
            Ok(()),
        ),
        ("now bob reads", fx.bob, app, None, Ok(())),
        (
            "bob lacks WRITE_DAC",
            fx.bob,
            app,
            Some(grant_bob.clone()),
            Err(5),
        ),
        (
            "owner change needs an administrator",
            fx.alice,
            app,
            Some(sd(BOB, vec![])),
            Err(5),
        ),
        (
            "malformed",
            fx.alice,
            app,
            Some(sd(ALICE, vec![Ace::deny(Who::Everyone, AccessMask(0x100))])),
            Err(87),
        ),
        (
            "set on a library",
            fx.root,
            lib_id,
            Some(grant_bob.clone()),
            Err(1350),
        ),
        (
            "set unknown",
            fx.root,
            Uuid::new_v4(),
            Some(grant_bob.clone()),
            Err(4312),
        ),
        (
            "administrator changes the owner",
            fx.admin,
            app,
            Some(sd(BOB, grant_bob.entries.clone())),
            Ok(()),
        ),
        (
            "old owner lost WRITE_DAC",
            fx.alice,
            app,
            Some(grant_bob.clone()),
            Err(5),
        ),
        (
            "root pool by uid 0",
            fx.root,
            fx.rsm.root_pool(),
            Some(sd(0, vec![Ace::allow(Who::Everyone, AccessMask::FULL)])),
            Ok(()),
        ),
        (
            "now bob creates top level",
            fx.bob,
            fx.rsm.root_pool(),
            None,
            Ok(()),
        ),
    ];
    for (what, s, id, set, want) in table {
        let got = match &set {
            None => fx.rsm.get_security(s, id).map(drop),
            Some(sd) => {
                let before = fx.rsm.get_security(fx.root, id).ok();
                let r = fx.rsm.set_security(s, id, sd);
                if r.is_ok() {
                    assert_eq!(&fx.rsm.get_security(fx.root, id).unwrap(), sd, "{what}");
                } else {
                    assert_eq!(
                        fx.rsm.get_security(fx.root, id).ok(),
                        before,
                        "{what}: unchanged"
                    );
                }
                r
            }
        };
        assert_eq!(got.map_err(|e| e.code()), want, "{what}");
    }
    fx.create(fx.bob, "\\BobTop", None).unwrap();
    // Persisted.
    let sd_app = fx.rsm.get_security(fx.root, app).unwrap();
    let fx = fx.reopen(base_config());
    assert_eq!(fx.rsm.get_security(fx.root, app).unwrap(), sd_app);
    assert_eq!(fx.info("\\App").owner.uid, BOB);
}

#[test]
fn deny_entries_in_the_cli_order() {
    // The CLI puts deny entries first; a deny on bob wins over everyone's allow.
    let fx = Fx::new();
    let sd = SecurityDescriptor::new(
        0,
        vec![
            Ace::parse(AceKind::Deny, &format!("uid:{BOB}:use")).unwrap(),
            Ace::parse(AceKind::Allow, "everyone:use").unwrap(),
        ],
    );
    let (id, _) = fx
        .rsm
        .create_media_pool(
            fx.alice,
            Some("\\App\\NoBob"),
            None,
            NTMS_CREATE_NEW,
            Some(&sd),
        )
        .unwrap();
    assert_eq!(code(fx.rsm.get_pool_info(fx.bob, id)), 5);
    let carol = fx.rsm.open_session(Identity::new(1002, vec![], 9));
    fx.rsm.get_pool_info(carol, id).unwrap();
    // Alice, the owner, uses it through `everyone` and keeps READ_CONTROL and WRITE_DAC.
    fx.rsm.get_pool_info(fx.alice, id).unwrap();
    fx.rsm.get_security(fx.alice, id).unwrap();
    let none = SecurityDescriptor::new(ALICE, vec![]);
    fx.rsm.set_security(fx.alice, id, &none).unwrap();
    assert_eq!(code(fx.rsm.get_pool_info(fx.alice, id)), 5);
    fx.rsm
        .set_security(fx.alice, id, &sd_with_owner(&sd, ALICE))
        .unwrap();
}

// ---- Database errors, provoked for real (§6) ----

#[test]
fn database_full_from_max_page_count() {
    let fx = Fx::new();
    let pages = |fx: &Fx| {
        let path = Fx::path(&fx.dir);
        let size = std::fs::metadata(&path).unwrap().len()
            + std::fs::metadata(path.with_extension("db-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
        (size / 4096) as u32
    };
    let limit = pages(&fx) + 2;
    let mut fx = fx.reopen(Config {
        db: DbConfig {
            max_page_count: Some(limit),
            ..DbConfig::default()
        },
        ..base_config()
    });
    let mut made = 0;
    let err = loop {
        let name = format!("\\App\\{}{made}", "p".repeat(60));
        match fx.create(fx.alice, &name, None) {
            Ok(_) => made += 1,
            Err(e) => break e,
        }
        assert!(made < 10_000, "max_page_count never reached");
    };
    assert_eq!(
        (err.name(), err.code()),
        ("ERROR_DATABASE_FULL", 4314),
        "{err}"
    );
    let failed = format!("\\App\\{}{made}", "p".repeat(60));
    assert_eq!(fx.id(&failed), None, "nothing half-written in memory");
    let in_db = fx.pool_count();
    // Other writes fail the same way, and reads still work.
    assert_eq!(code(fx.create(fx.alice, "\\App\\more", None)), 4314);
    assert_eq!(
        fx.rsm
            .enumerate_pools(fx.alice, fx.id("\\App"), 0)
            .unwrap()
            .len(),
        made + 1
    );
    // Remove the cause: the same service file, a larger limit.
    fx = fx.reopen(base_config());
    assert_eq!(fx.pool_count(), in_db, "nothing half-written on disk");
    assert_eq!(fx.id(&failed), None);
    fx.create(fx.alice, &failed, None).unwrap();
}

#[test]
fn database_full_from_object_limit() {
    let fx = Fx::new();
    let n = fx.rsm.object_count();
    let fx = fx.reopen(Config {
        db: DbConfig {
            max_objects: Some(n + 2),
            ..DbConfig::default()
        },
        ..base_config()
    });
    fx.create(fx.alice, "\\App\\1", None).unwrap();
    fx.create(fx.alice, "\\App\\2", None).unwrap();
    let e = fx.create(fx.alice, "\\App\\3", None).unwrap_err();
    assert_eq!(e.code(), 4314, "{e}");
    // A library registration that needs three new pools fails whole.
    let pools = fx.pool_count();
    assert_eq!(
        code(fx.rsm.register_library(&lib("LIB9"), &[MediaType::Lto9])),
        4314
    );
    assert_eq!(fx.pool_count(), pools);
    assert!(fx
        .rsm
        .libraries()
        .iter()
        .all(|l| l.identity.serial != "LIB9"));
    assert_eq!(count_rows(&Fx::path(&fx.dir), "libraries").unwrap(), 1);
    // Deleting makes room again.
    fx.rsm
        .delete_media_pool(fx.alice, fx.id("\\App\\1").unwrap())
        .unwrap();
    fx.create(fx.alice, "\\App\\3", None).unwrap();
    let fx = fx.reopen(base_config());
    fx.rsm
        .register_library(&lib("LIB9"), &[MediaType::Lto9])
        .unwrap();
}

#[test]
fn database_failure_from_a_lock_held_elsewhere() {
    let fx = Fx::new().reopen(Config {
        db: DbConfig {
            busy_timeout: Duration::from_millis(100),
            ..DbConfig::default()
        },
        ..base_config()
    });
    let lock = WriteLock::hold(&Fx::path(&fx.dir)).unwrap();
    let table: Vec<(&str, u32)> = vec![
        ("create", code(fx.create(fx.alice, "\\App\\X", None))),
        (
            "delete",
            code(
                fx.rsm
                    .delete_media_pool(fx.alice, fx.id("\\App\\Media").unwrap()),
            ),
        ),
        (
            "register",
            code(fx.rsm.register_library(&lib("LIB2"), &[MediaType::Lto9])),
        ),
    ];
    for (what, c) in table {
        assert_eq!(c, 4313, "{what}");
    }
    // Reads do not wait for the lock.
    fx.rsm
        .get_pool_info(fx.alice, fx.id("\\App\\Media").unwrap())
        .unwrap();
    drop(lock);
    assert_eq!(fx.id("\\App\\X"), None);
    fx.create(fx.alice, "\\App\\X", None).unwrap();
    fx.rsm
        .delete_media_pool(fx.alice, fx.id("\\App\\Media").unwrap())
        .unwrap();
}

#[test]
fn database_failure_from_a_damaged_file() {
    let fx = Fx::new();
    let app = fx.id("\\App");
    let path = Fx::path(&fx.dir);
    let dir = fx.dir;
    drop(fx.rsm);
    let good = std::fs::read(&path).unwrap();
    // Garbage over the whole file; a truncated file; a file of another format.
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", vec![0x5A; good.len()]),
        ("header overwritten", {
            let mut b = good.clone();
            b[..100].fill(0xFF);
            b
        }),
        ("not sqlite", b"%PDF-1.7\n".repeat(512)),
    ];
    for (what, bytes) in damages {
        std::fs::write(&path, &bytes).unwrap();
        let e = Rsm::open(&path, base_config()).unwrap_err();
        assert_eq!(
            (e.name(), e.code()),
            ("ERROR_DATABASE_FAILURE", 4313),
            "{what}: {e}"
        );
        // Restore: the database works again with everything in it.
        std::fs::write(&path, &good).unwrap();
        let rsm = Rsm::open(&path, base_config()).unwrap();
        rsm.set_ready(true);
        let s = rsm.open_session(Identity::new(0, vec![], 1));
        assert_eq!(rsm.find_pool(s, "\\App").ok(), app, "{what}");
        rsm.create_media_pool(
            s,
            Some(&format!("\\App\\after {what}")),
            None,
            NTMS_CREATE_NEW,
            None,
        )
        .unwrap();
        drop(rsm);
        let _ = std::fs::remove_file(path.with_extension("db-wal"));
        let _ = std::fs::remove_file(path.with_extension("db-shm"));
        std::fs::write(&path, &good).unwrap();
    }
    drop(dir);
}

/// Makes `path` read-only, even for root when possible (`chattr +i`). Returns an undo guard,
/// or `None` when the file stays writable (root without CAP_LINUX_IMMUTABLE).
struct ReadOnly {
    path: PathBuf,
    immutable: bool,
}

impl ReadOnly {
    fn make(path: &Path) -> Option<ReadOnly> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let writable = || std::fs::OpenOptions::new().append(true).open(path).is_ok();
        if !writable() {
            return Some(ReadOnly {
                path: path.to_owned(),
                immutable: false,
            });
        }
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        let guard = ReadOnly {
            path: path.to_owned(),
            immutable: ok,
        };
        if writable() {
            drop(guard);
            return None;
        }
        Some(guard)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.path)
                .status();
        }
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o644));
    }
}

#[test]
fn database_failure_from_a_read_only_file() {
    let fx = Fx::new();
    let path = Fx::path(&fx.dir);
    let dir = fx.dir;
    drop(fx.rsm);
    let Some(ro) = ReadOnly::make(&path) else {
        eprintln!("skipped: cannot make a file read-only here (root without chattr)");
        return;
    };
    // Either the service refuses to open, or it opens and every write fails; nothing is written.
    match Rsm::open(&path, base_config()) {
        Err(e) => assert_eq!(e.code(), 4313, "{e}"),
        Ok(rsm) => {
            rsm.set_ready(true);
            let s = rsm.open_session(Identity::new(0, vec![], 1));
            let e = rsm
                .create_media_pool(s, Some("\\RO"), None, NTMS_CREATE_NEW, None)
                .unwrap_err();
            assert_eq!(e.code(), 4313, "{e}");
            assert!(rsm.find_pool(s, "\\RO").is_err());
        }
    }
    drop(ro);
    let rsm = Rsm::open(&path, base_config()).unwrap();
    rsm.set_ready(true);
    let s = rsm.open_session(Identity::new(0, vec![], 1));
    assert!(rsm.find_pool(s, "\\RO").is_err(), "nothing half-written");
    rsm.create_media_pool(s, Some("\\RO"), None, NTMS_CREATE_NEW, None)
        .unwrap();
    drop(dir);
}

#[test]
fn database_failure_from_a_missing_directory() {
    let dir = TempDir::new().unwrap();
    let e = Rsm::open(&dir.path().join("no/such/dir/reel.db"), Config::default()).unwrap_err();
    assert_eq!(e.code(), 4313, "{e}");
}

#[test]
fn everything_survives_a_restart() {
    let fx = Fx::new();
    let before: Vec<PoolInfo> = fx.rsm.list_pools(fx.root, None, 1).unwrap();
    let media = fx.info("\\App\\Media");
    let root = fx.rsm.root_pool();
    let fx = fx.reopen(base_config());
    assert_eq!(fx.rsm.root_pool(), root);
    assert_eq!(fx.rsm.list_pools(fx.root, None, 1).unwrap(), before);
    assert_eq!(fx.info("\\App\\Media"), media);
}

fn sd_with_owner(sd: &SecurityDescriptor, owner: u32) -> SecurityDescriptor {
    SecurityDescriptor::new(owner, sd.entries.clone())
}
