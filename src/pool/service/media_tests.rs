//! Media catalogue tests: §1's classification row by row, the offline rules, and the media
//! functions (allocate, deallocate, complete, decommission, move, delete) with their errors.
#![allow(clippy::type_complexity)] // case tables are tuples: one row per line reads like the spec

use std::sync::Mutex;
use std::time::Duration;

use tempfile::TempDir;

use super::*;
use crate::db::testing::{count_rows, WriteLock};
use crate::pool::media::*;
use crate::pool::work::{LabelOutcome, LabelRequest, MediaWork, WorkError};
use crate::pool::{NTMS_ALLOCATE_FROMSCRATCH, NTMS_DEALLOCATE_TOSCRATCH};

const ALICE: u32 = 1000;
const BOB: u32 = 1001;

struct Fx {
    dir: TempDir,
    rsm: Rsm,
    lib: Uuid,
    root: SessionId,
    alice: SessionId,
    bob: SessionId,
}

fn cart(
    kind: LocationKind,
    address: u16,
    barcode: Option<&str>,
    t: Option<MediaType>,
) -> Cartridge {
    Cartridge {
        kind,
        address,
        barcode: barcode.map(str::to_owned),
        media_type: t,
        source: None,
        label: None,
    }
}

fn slot(address: u16, barcode: &str) -> Cartridge {
    cart(
        LocationKind::Slot,
        address,
        Some(barcode),
        Some(MediaType::Lto8),
    )
}

impl Fx {
    fn new() -> Fx {
        Fx::with(Config::default())
    }

    fn with(config: Config) -> Fx {
        let dir = TempDir::new().unwrap();
        let rsm = Rsm::open(&dir.path().join("reel.db"), config).unwrap();
        let lib = rsm
            .register_library(
                &LibraryIdentity {
                    serial: "LIB1".into(),
                    vendor: "V".into(),
                    product: "P".into(),
                    revision: "1".into(),
                },
                &[MediaType::Lto7, MediaType::Lto8],
            )
            .unwrap();
        rsm.set_ready(true);
        let root = rsm.open_session(Identity::new(0, vec![0], 1));
        let alice = rsm.open_session(Identity::new(ALICE, vec![ALICE], 2));
        let bob = rsm.open_session(Identity::new(BOB, vec![BOB], 3));
        let mut sd = rsm.get_security(root, rsm.root_pool()).unwrap();
        sd.entries
            .push(Ace::allow(Who::Uid(ALICE), AccessMask::CONTROL));
        rsm.set_security(root, rsm.root_pool(), &sd).unwrap();
        let fx = Fx {
            dir,
            rsm,
            lib,
            root,
            alice,
            bob,
        };
        fx.rsm
            .create_media_pool(
                alice,
                Some("\\App"),
                Some(&MediaTypeRef::parse("LTO-8")),
                NTMS_CREATE_NEW,
                None,
            )
            .unwrap();
        fx
    }

    fn pool(&self, name: &str) -> Uuid {
        self.rsm.find_pool(self.root, name).unwrap()
    }

    fn info(&self, name: &str) -> PoolInfo {
        self.rsm.get_pool_info(self.root, self.pool(name)).unwrap()
    }

    fn register(&self, carts: &[Cartridge]) -> RegisterReport {
        self.rsm.register_media(self.lib, carts).unwrap()
    }

    fn by_barcode(&self, b: &str) -> MediumInfo {
        self.rsm.find_medium(self.root, b).unwrap()
    }

    /// Registers `carts`, then moves every Unrecognized LTO-8 medium to Free.
    fn with_free(&self, carts: &[Cartridge]) {
        self.register(carts);
        let free = self.pool("\\Free\\LTO-8");
        for c in carts {
            let m = self.by_barcode(c.barcode.as_deref().unwrap());
            self.rsm.move_to_media_pool(self.root, m.id, free).unwrap();
        }
    }

    fn set_policy(&self, name: &str, alloc: u32, dealloc: u32, max: u32) {
        let id = self.pool(name);
        let mut u = self.rsm.get_pool_info(self.root, id).unwrap().to_update();
        u.allocation_policy = alloc;
        u.deallocation_policy = dealloc;
        u.max_allocates = max;
        self.rsm.set_pool_info(self.root, id, &u).unwrap();
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, RsmError>) -> u32 {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

#[test]
fn classification_of_new_cartridges_follows_section_1() {
    let fx = Fx::new();
    let label = ReelLabel {
        medium: Uuid::new_v4(),
        pool: Uuid::new_v4(),
    };
    // (what, cartridge, Some((pool, side state, barcode state)) or None: not a medium)
    let rows: Vec<(&str, Cartridge, Option<(&str, SideState, BarcodeState)>)> = vec![
        (
            "no OMID → Unrecognized, FOREIGN",
            slot(1000, "AAA001L8"),
            Some((
                "\\Unrecognized\\LTO-8",
                SideState::Foreign,
                BarcodeState::Ok,
            )),
        ),
        (
            "reel OMID with an unknown medium id → Import, IMPORT",
            Cartridge {
                label: Some(label.clone()),
                ..slot(1001, "AAA002L8")
            },
            Some(("\\Import\\LTO-8", SideState::Import, BarcodeState::Ok)),
        ),
        (
            "a type no drive reads → Unrecognized, INCOMPATIBLE",
            cart(
                LocationKind::Slot,
                1002,
                Some("AAA003L6"),
                Some(MediaType::Lto6),
            ),
            Some((
                "\\Unrecognized\\LTO-6",
                SideState::Incompatible,
                BarcodeState::Ok,
            )),
        ),
        (
            "incompatible wins over a reel OMID",
            Cartridge {
                label: Some(ReelLabel {
                    medium: Uuid::new_v4(),
                    pool: Uuid::new_v4(),
                }),
                ..cart(
                    LocationKind::Slot,
                    1003,
                    Some("AAA004L6"),
                    Some(MediaType::Lto6),
                )
            },
            Some((
                "\\Unrecognized\\LTO-6",
                SideState::Incompatible,
                BarcodeState::Ok,
            )),
        ),
        ("CLN bar code → a cleaner", slot(1004, "CLN001CU"), None),
        (
            "cleaning media type → a cleaner",
            cart(
                LocationKind::Slot,
                1005,
                Some("XYZ001"),
                Some(MediaType::LtoCleaning),
            ),
            None,
        ),
        (
            "in a drive, no bar code → Unrecognized, bar code UNREADABLE",
            Cartridge {
                source: Some(1006),
                ..cart(LocationKind::Drive, 500, None, Some(MediaType::Lto7))
            },
            Some((
                "\\Unrecognized\\LTO-7",
                SideState::Foreign,
                BarcodeState::Unreadable,
            )),
        ),
        (
            "in the mailslot",
            cart(
                LocationKind::Ie,
                10,
                Some("AAA005L8"),
                Some(MediaType::Lto8),
            ),
            Some((
                "\\Unrecognized\\LTO-8",
                SideState::Foreign,
                BarcodeState::Ok,
            )),
        ),
    ];
    let carts: Vec<Cartridge> = rows.iter().map(|r| r.1.clone()).collect();
    let report = fx.register(&carts);
    assert_eq!(report.added, 6, "{report:?}");
    assert_eq!(report.cleaners, 2);
    let media = fx.rsm.media();
    for (what, c, want) in &rows {
        let found = media
            .iter()
            .find(|m| m.location.kind == c.kind && m.location.address == Some(c.address));
        match want {
            None => assert!(found.is_none(), "{what}"),
            Some((pool, side, bstate)) => {
                let m = found.unwrap_or_else(|| panic!("{what}: not catalogued"));
                assert_eq!(
                    fx.rsm.get_medium(fx.root, m.id).unwrap().pool,
                    *pool,
                    "{what}"
                );
                assert_eq!(m.sides.len(), 1, "{what}");
                assert_eq!(m.sides[0].state, *side, "{what}");
                assert_eq!(m.barcode_state, *bstate, "{what}");
                assert_eq!(m.location.library, Some(fx.lib), "{what}");
                assert_eq!(m.state, MediaState::Idle, "{what}");
                let home = if c.kind == LocationKind::Slot {
                    Some(c.address)
                } else {
                    c.source
                };
                assert_eq!(m.home, home, "{what}");
            }
        }
    }
    // The Import medium takes the id its label names.
    assert_eq!(fx.by_barcode("AAA002L8").id, label.medium);
    let cleaners = fx.rsm.cleaners(fx.lib);
    assert_eq!(cleaners.len(), 2);
    assert!(cleaners.iter().all(|c| c.uses_remaining == 50));
    // Pool counts are real.
    assert_eq!(fx.info("\\Unrecognized\\LTO-8").physical_media, 2);
    assert_eq!(fx.info("\\Import\\LTO-8").physical_media, 1);
    assert_eq!(fx.info("\\Unrecognized\\LTO-6").physical_media, 2);
    assert_eq!(fx.info("\\Unrecognized\\LTO-7").physical_media, 1);
}

#[test]
fn unknown_media_types_are_reported_not_catalogued() {
    let fx = Fx::new();
    let r = fx.register(&[cart(LocationKind::Slot, 1000, Some("AAA001"), None)]);
    assert_eq!(r.added, 0);
    assert_eq!(r.warnings.len(), 1, "{r:?}");
    assert!(r.warnings[0].contains("slot 1000"), "{}", r.warnings[0]);
    assert!(fx.rsm.media().is_empty());
}

#[test]
fn a_known_cartridge_keeps_everything() {
    let fx = Fx::new();
    fx.with_free(&[slot(1000, "AAA001L8")]);
    fx.set_policy("\\App", NTMS_ALLOCATE_FROMSCRATCH, 0, 0);
    let app = fx.pool("\\App");
    let a = fx
        .rsm
        .allocate_media(fx.alice, app, None, None, 0, Some(Duration::ZERO))
        .unwrap();
    let before = fx.by_barcode("AAA001L8");
    // Seen again elsewhere (by bar code), then by its label with a new bar code.
    let cases: Vec<(&str, Cartridge, (LocationKind, u16))> = vec![
        (
            "same bar code, another slot",
            slot(1010, "AAA001L8"),
            (LocationKind::Slot, 1010),
        ),
        (
            "in a drive, home kept",
            Cartridge {
                source: Some(1010),
                ..cart(
                    LocationKind::Drive,
                    501,
                    Some("AAA001L8"),
                    Some(MediaType::Lto8),
                )
            },
            (LocationKind::Drive, 501),
        ),
        (
            "relabelled, known by its OMID",
            Cartridge {
                label: Some(ReelLabel {
                    medium: before.id,
                    pool: app,
                }),
                ..slot(1011, "NEW001L8")
            },
            (LocationKind::Slot, 1011),
        ),
    ];
    for (what, c, (kind, address)) in cases {
        let r = fx.register(&[c]);
        assert_eq!((r.added, r.updated, r.dropped), (0, 1, 0), "{what}: {r:?}");
        let now = fx.rsm.get_medium(fx.root, before.id).unwrap();
        assert_eq!(now.pool, "\\App", "{what}");
        assert_eq!(now.sides[0].lmid, Some(a.lmid), "{what}");
        assert_eq!(now.sides[0].allocate_count, 1, "{what}");
        assert_eq!(
            (now.location.kind, now.location.address),
            (kind, Some(address)),
            "{what}"
        );
    }
    assert_eq!(
        fx.rsm.get_medium(fx.root, before.id).unwrap().home,
        Some(1011)
    );
}

#[test]
fn a_second_registration_with_nothing_changed_writes_nothing() {
    let fx = Fx::new();
    let carts: Vec<Cartridge> = (0..50)
        .map(|i| slot(1000 + i, &format!("B{i:05}L8")))
        .chain([cart(LocationKind::Slot, 1100, None, Some(MediaType::Lto8))])
        .chain([slot(1101, "CLN001CU")])
        .collect();
    let first = fx.register(&carts);
    assert_eq!(first.added, 51);
    let path = fx.dir.path().join("reel.db");
    // A writer holding the lock would make any write fail: none is attempted.
    let _lock = WriteLock::hold(&path).unwrap();
    let second = fx.register(&carts);
    assert_eq!(
        (
            second.added,
            second.updated,
            second.unchanged,
            second.dropped
        ),
        (0, 0, 51, 0),
        "{second:?}"
    );
}

#[test]
fn media_that_leave_the_library_follow_the_offline_rules() {
    // (policy, pool kind the medium is in, kept offline?)
    let rows: Vec<(u32, &str, bool)> = vec![
        (0, "application", true),
        (NTMS_POOLPOLICY_PURGEOFFLINESCRATCH, "application", true),
        (0, "free", true),
        (NTMS_POOLPOLICY_PURGEOFFLINESCRATCH, "free", false),
        (0, "import", false),
        (NTMS_POOLPOLICY_KEEPOFFLINEIMPORT, "import", true),
        (
            NTMS_POOLPOLICY_KEEPOFFLINEIMPORT | NTMS_POOLPOLICY_PURGEOFFLINESCRATCH,
            "unrecognized",
            false,
        ),
        (0, "unrecognized", false),
    ];
    for (policy, kind, kept) in rows {
        let fx = Fx::with(Config {
            media_pool_policy: policy,
            ..Config::default()
        });
        let c = match kind {
            "import" => Cartridge {
                label: Some(ReelLabel {
                    medium: Uuid::new_v4(),
                    pool: Uuid::new_v4(),
                }),
                ..slot(1000, "AAA001L8")
            },
            _ => slot(1000, "AAA001L8"),
        };
        fx.register(&[c, slot(1023, "CLN001CU")]);
        let id = fx.by_barcode("AAA001L8").id;
        match kind {
            "free" => {
                fx.rsm
                    .move_to_media_pool(fx.root, id, fx.pool("\\Free\\LTO-8"))
                    .unwrap();
            }
            "application" => {
                fx.rsm
                    .move_to_media_pool(fx.root, id, fx.pool("\\Free\\LTO-8"))
                    .unwrap();
                fx.rsm
                    .move_to_media_pool(fx.root, id, fx.pool("\\App"))
                    .unwrap();
            }
            _ => {}
        }
        let pool = fx.rsm.get_medium(fx.root, id).unwrap().pool;
        let r = fx.register(&[]);
        assert_eq!(
            fx.rsm.cleaners(fx.lib).len(),
            0,
            "cleaners are always dropped"
        );
        let what = format!("policy {policy} {kind}");
        match fx.rsm.get_medium(fx.root, id) {
            Ok(m) => {
                assert!(kept, "{what}: kept");
                assert_eq!(r.offline, 1, "{what}");
                assert_eq!(m.location.kind, LocationKind::Offline, "{what}");
                assert_eq!(m.location.library, None, "{what}");
                assert_eq!(m.pool, pool, "{what}");
                // Back in the library: online again, same record.
                fx.register(&[slot(1005, "AAA001L8")]);
                let back = fx.rsm.get_medium(fx.root, id).unwrap();
                assert_eq!(back.location.kind, LocationKind::Slot, "{what}");
                assert_eq!(back.pool, pool, "{what}");
            }
            Err(e) => {
                assert!(!kept, "{what}: dropped ({e})");
                assert_eq!(e.code(), 4312);
                assert_eq!(fx.info(&pool).physical_media, 0, "{what}");
            }
        }
    }
}

#[test]
fn a_duplicated_bar_code_is_reported_never_merged() {
    let fx = Fx::new();
    fx.with_free(&[slot(1000, "DUP001L8")]);
    let known = fx.by_barcode("DUP001L8").id;
    let r = fx.register(&[slot(1000, "DUP001L8"), slot(1001, "DUP001L8")]);
    assert_eq!((r.added, r.unchanged), (1, 1), "{r:?}");
    assert_eq!(r.warnings.len(), 1);
    assert!(r.warnings[0].contains("DUP001L8"), "{}", r.warnings[0]);
    let media = fx.rsm.media();
    assert_eq!(media.len(), 2);
    let other = media.iter().find(|m| m.id != known).unwrap();
    assert_eq!(other.location.address, Some(1001));
    assert_eq!(
        fx.rsm.get_medium(fx.root, other.id).unwrap().pool,
        "\\Unrecognized\\LTO-8"
    );
    assert_eq!(
        fx.rsm.get_medium(fx.root, known).unwrap().pool,
        "\\Free\\LTO-8"
    );
    // A bar code that names two media does not name one.
    assert_eq!(code(fx.rsm.find_medium(fx.root, "DUP001L8")), 4300);
    // Registering the same pair again changes nothing.
    let again = fx.register(&[slot(1000, "DUP001L8"), slot(1001, "DUP001L8")]);
    assert_eq!((again.added, again.unchanged), (0, 2), "{again:?}");
}

#[test]
fn allocate_then_deallocate() {
    let fx = Fx::new();
    fx.with_free(&[slot(1000, "AAA001L8"), slot(1001, "AAA002L8")]);
    let app = fx.pool("\\App");
    let free = fx.pool("\\Free\\LTO-8");
    fx.rsm
        .move_to_media_pool(fx.root, fx.by_barcode("AAA002L8").id, app)
        .unwrap();
    let a = fx
        .rsm
        .allocate_media(fx.alice, app, None, None, 0, Some(Duration::ZERO))
        .unwrap();
    assert_eq!(a.barcode.as_deref(), Some("AAA002L8"));
    assert_eq!(a.from_pool, "\\App");
    let info = fx.info("\\App");
    assert_eq!((info.physical_media, info.logical_media), (1, 1));
    let m = fx.rsm.get_medium(fx.alice, a.lmid).unwrap();
    assert_eq!(m.sides[0].state, SideState::Allocated);
    assert_eq!(m.sides[0].lmid, Some(a.lmid));
    // Nothing more in the pool, no FROMSCRATCH.
    assert_eq!(
        code(fx.rsm.allocate_media(
            fx.alice,
            app,
            None,
            None,
            NTMS_ALLOCATE_ERROR_IF_UNAVAILABLE,
            None
        )),
        4308
    );
    let d = fx.rsm.deallocate_media(fx.alice, a.lmid, 0).unwrap();
    assert_eq!(
        d,
        Deallocated {
            state: SideState::Available,
            to_free: false
        }
    );
    let info = fx.info("\\App");
    assert_eq!((info.physical_media, info.logical_media), (1, 0));
    assert_eq!(code(fx.rsm.deallocate_media(fx.alice, a.lmid, 0)), 4300);
    // FROMSCRATCH draws from Free.
    fx.set_policy(
        "\\App",
        NTMS_ALLOCATE_FROMSCRATCH,
        NTMS_DEALLOCATE_TOSCRATCH,
        0,
    );
    let first = fx
        .rsm
        .allocate_media(fx.alice, app, None, None, 0, Some(Duration::ZERO))
        .unwrap();
    let second = fx
        .rsm
        .allocate_media(fx.alice, app, None, None, 0, Some(Duration::ZERO))
        .unwrap();
    assert_eq!(first.from_pool, "\\App");
    assert_eq!(second.from_pool, "\\Free\\LTO-8");
    assert_eq!(fx.info("\\Free\\LTO-8").physical_media, 0);
    // TOSCRATCH sends it back.
    let d = fx.rsm.deallocate_media(fx.alice, second.lmid, 0).unwrap();
    assert!(d.to_free);
    let m = fx.rsm.get_medium(fx.root, second.medium).unwrap();
    assert_eq!(
        (m.pool.as_str(), m.sides[0].state),
        ("\\Free\\LTO-8", SideState::Available)
    );
    assert_eq!(fx.info("\\Free\\LTO-8").physical_media, 1);
    let _ = free;
    // Everything survives a restart.
    let path = fx.dir.path().join("reel.db");
    let Fx { dir, rsm, .. } = fx;
    drop(rsm);
    let rsm = Rsm::open(&path, Config::default()).unwrap();
    rsm.set_ready(true);
    let s = rsm.open_session(Identity::new(0, vec![0], 1));
    let m = rsm.get_medium(s, first.lmid).unwrap();
    assert_eq!(m.sides[0].lmid, Some(first.lmid));
    let app = rsm.find_pool(s, "\\App").unwrap();
    let info = rsm.get_pool_info(s, app).unwrap();
    assert_eq!((info.physical_media, info.logical_media), (1, 1));
    drop(dir);
}

#[test]
fn max_allocates_decommissions() {
    let fx = Fx::new();
    fx.with_free(&[slot(1000, "AAA001L8")]);
    let app = fx.pool("\\App");
    fx.set_policy("\\App", NTMS_ALLOCATE_FROMSCRATCH, 0, 2);
    let mut states = vec![];
    for _ in 0..2 {
        let a = fx
            .rsm
            .allocate_media(fx.alice, app, None, None, 0, Some(Duration::ZERO))
            .unwrap();
        states.push(fx.rsm.deallocate_media(fx.alice, a.lmid, 0).unwrap().state);
    }
    assert_eq!(
        states,
        vec![SideState::Available, SideState::Decommissioned]
    );
    assert_eq!(
        code(fx.rsm.allocate_media(
            fx.alice,
            app,
            None,
            None,
            NTMS_ALLOCATE_ERROR_IF_UNAVAILABLE,
            None
        )),
        4308
    );
}

#[test]
fn allocation_errors() {
    let fx = Fx::new();
    fx.register(&[
        slot(1000, "FOR001L8"),
        Cartridge {
            label: Some(ReelLabel {
                medium: Uuid::new_v4(),
                pool: Uuid::new_v4(),
            }),
            ..slot(1001, "IMP001L8")
        },
        cart(
            LocationKind::Slot,
            1002,
            Some("LTO7X1L7"),
            Some(MediaType::Lto7),
        ),
    ]);
    let app = fx.pool("\\App");
    let import = fx.by_barcode("IMP001L8");
    let foreign = fx.by_barcode("FOR001L8");
    let lto7 = fx.by_barcode("LTO7X1L7");
    let z = Some(Duration::ZERO);
    let rows: Vec<(&str, SessionId, Uuid, Option<Uuid>, Option<Uuid>, u32, u32)> = vec![
        ("unknown option bits", fx.alice, app, None, None, 0x8, 87),
        (
            "NEW and NEXT",
            fx.alice,
            app,
            None,
            Some(Uuid::new_v4()),
            0x3,
            87,
        ),
        ("NEXT without an LMID", fx.alice, app, None, None, 0x2, 87),
        (
            "unknown pool",
            fx.alice,
            Uuid::new_v4(),
            None,
            None,
            0,
            4302,
        ),
        (
            "a system pool",
            fx.root,
            fx.pool("\\Free\\LTO-8"),
            None,
            None,
            0,
            4302,
        ),
        (
            "a pool of pools",
            fx.root,
            fx.rsm.root_pool(),
            None,
            None,
            0,
            4302,
        ),
        ("no CONTROL", fx.bob, app, None, None, 0, 5),
        (
            "unknown side",
            fx.alice,
            app,
            Some(Uuid::new_v4()),
            None,
            0,
            4300,
        ),
        (
            "a FOREIGN side",
            fx.alice,
            app,
            Some(foreign.sides[0].id),
            None,
            0,
            4300,
        ),
        (
            "type mismatch",
            fx.alice,
            app,
            Some(lto7.sides[0].id),
            None,
            0,
            4315,
        ),
        (
            "NEXT with an unknown LMID",
            fx.alice,
            app,
            None,
            Some(Uuid::new_v4()),
            0x2,
            4300,
        ),
        (
            "nothing, ERROR_IF_UNAVAILABLE",
            fx.alice,
            app,
            None,
            None,
            0x4,
            4308,
        ),
        ("nothing, timeout 0", fx.alice, app, None, None, 0, 1460),
    ];
    for (what, s, pool, side, next, options, want) in rows {
        let got = fx.rsm.allocate_media(s, pool, side, next, options, z);
        assert_eq!(code(got), want, "{what}");
    }
    assert!(fx.rsm.operator_requests(fx.root).unwrap().is_empty());
    // The Import shortcut: a given IMPORT side lands in the pool, allocated, at once.
    let a = fx
        .rsm
        .allocate_media(fx.alice, app, Some(import.sides[0].id), None, 0, z)
        .unwrap();
    assert_eq!(a.from_pool, "\\Import\\LTO-8");
    assert_eq!(fx.info("\\Import\\LTO-8").physical_media, 0);
    // The same side again: in use.
    assert_eq!(
        code(
            fx.rsm
                .allocate_media(fx.alice, app, Some(import.sides[0].id), None, 0, z)
        ),
        4308
    );
    // NEXT on a one-sided medium: no further side.
    assert_eq!(
        code(
            fx.rsm
                .allocate_media(fx.alice, app, None, Some(a.lmid), 0x2, z)
        ),
        4308
    );
}

#[test]
fn newmedia_requests_are_satisfied_refused_or_withdrawn() {
    let fx = std::sync::Arc::new(Fx::new());
    let app = fx.pool("\\App");
    // Withdrawn on timeout.
    let t = std::time::Instant::now();
    assert_eq!(
        code(fx.rsm.allocate_media(
            fx.alice,
            app,
            None,
            None,
            0,
            Some(Duration::from_millis(150))
        )),
        1460
    );
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert!(fx.rsm.operator_requests(fx.root).unwrap().is_empty());
    // Refused, then satisfied after a medium arrived.
    for satisfy in [false, true] {
        let f = fx.clone();
        let waiter = std::thread::spawn(move || {
            f.rsm
                .allocate_media(f.alice, app, None, None, 0, Some(Duration::from_secs(20)))
        });
        let req = loop {
            if let Some(r) = fx.rsm.operator_requests(fx.root).unwrap().pop() {
                break r;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(req.kind, crate::pool::opreq::OpReqType::Newmedia);
        assert!(req.message.contains("\\App (LTO-8)"), "{}", req.message);
        assert!(req.message.contains("LIB1"), "{}", req.message);
        assert_eq!(req.user, format!("uid:{ALICE}"));
        // Bob may not answer for a pool he does not control.
        assert_eq!(
            code(fx.rsm.answer_operator_request(fx.bob, req.id, true)),
            5
        );
        if satisfy {
            fx.with_free(&[slot(1000, "NEW001L8")]);
            fx.rsm
                .move_to_media_pool(fx.root, fx.by_barcode("NEW001L8").id, app)
                .unwrap();
        }
        fx.rsm
            .answer_operator_request(fx.alice, req.id, satisfy)
            .unwrap();
        let got = waiter.join().unwrap();
        if satisfy {
            assert_eq!(got.unwrap().barcode.as_deref(), Some("NEW001L8"));
        } else {
            assert_eq!(code(got), 1223);
        }
        assert!(fx.rsm.operator_requests(fx.root).unwrap().is_empty());
        assert_eq!(
            code(fx.rsm.answer_operator_request(fx.alice, req.id, true)),
            4312
        );
    }
}

#[test]
fn complete_decommission_delete() {
    let fx = Fx::new();
    fx.with_free(&[slot(1000, "AAA001L8"), slot(1001, "AAA002L8")]);
    let app = fx.pool("\\App");
    fx.set_policy("\\App", NTMS_ALLOCATE_FROMSCRATCH, 0, 0);
    let a = fx
        .rsm
        .allocate_media(fx.alice, app, None, None, 0, Some(Duration::ZERO))
        .unwrap();
    assert_eq!(code(fx.rsm.set_media_complete(fx.bob, a.lmid)), 5);
    assert_eq!(
        code(fx.rsm.set_media_complete(fx.alice, Uuid::new_v4())),
        4300
    );
    let m = fx.rsm.set_media_complete(fx.alice, a.lmid).unwrap();
    assert_eq!(m.sides[0].state, SideState::Complete);
    assert_eq!(code(fx.rsm.set_media_complete(fx.alice, a.lmid)), 5023);
    // Decommission: AVAILABLE only.
    assert_eq!(code(fx.rsm.decommission_media(fx.alice, a.medium)), 5023);
    let other = fx.by_barcode(if a.barcode.as_deref() == Some("AAA001L8") {
        "AAA002L8"
    } else {
        "AAA001L8"
    });
    assert_eq!(code(fx.rsm.decommission_media(fx.bob, other.id)), 5);
    // Bob has USE on Free only through everyone:USE; decommission needs CONTROL.
    let m = fx.rsm.decommission_media(fx.root, other.id).unwrap();
    assert_eq!(m.sides[0].state, SideState::Decommissioned);
    // Delete: online media need every side AVAILABLE/FOREIGN/IMPORT.
    assert_eq!(code(fx.rsm.delete_media(fx.alice, a.medium)), 5023);
    assert_eq!(code(fx.rsm.delete_media(fx.root, other.id)), 5023);
    assert_eq!(code(fx.rsm.delete_media(fx.root, Uuid::new_v4())), 4300);
    // Offline media can go, logical media with them.
    fx.register(&[]);
    fx.rsm.delete_media(fx.alice, a.medium).unwrap();
    let info = fx.info("\\App");
    assert_eq!((info.physical_media, info.logical_media), (0, 0));
    let path = fx.dir.path().join("reel.db");
    assert_eq!(count_rows(&path, "logical_media").unwrap(), 0);
}

#[test]
fn move_rules_of_5_8() {
    let fx = Fx::new();
    fx.register(&[
        slot(1000, "FOR001L8"),
        Cartridge {
            label: Some(ReelLabel {
                medium: Uuid::new_v4(),
                pool: Uuid::new_v4(),
            }),
            ..slot(1001, "IMP001L8")
        },
        cart(
            LocationKind::Slot,
            1002,
            Some("L7X001L7"),
            Some(MediaType::Lto7),
        ),
        cart(
            LocationKind::Slot,
            1003,
            Some("L6X001L6"),
            Some(MediaType::Lto6),
        ),
    ]);
    fx.rsm
        .create_media_pool(
            fx.alice,
            Some("\\App2"),
            Some(&MediaTypeRef::parse("LTO-8")),
            NTMS_CREATE_NEW,
            None,
        )
        .unwrap();
    let app = fx.pool("\\App");
    let free = fx.pool("\\Free\\LTO-8");
    let import = fx.pool("\\Import\\LTO-8");
    let f = fx.by_barcode("FOR001L8").id;
    let i = fx.by_barcode("IMP001L8").id;
    let l7 = fx.by_barcode("L7X001L7").id;
    let l6 = fx.by_barcode("L6X001L6").id;
    // Another library reads LTO-6, so a Free pool of it exists; LIB1's cartridge stays
    // INCOMPATIBLE.
    fx.rsm
        .register_library(
            &LibraryIdentity {
                serial: "LIB2".into(),
                vendor: "V".into(),
                product: "P".into(),
                revision: "1".into(),
            },
            &[MediaType::Lto6],
        )
        .unwrap();
    let rows: Vec<(&str, SessionId, Uuid, Uuid, u32)> = vec![
        ("unknown medium", fx.root, Uuid::new_v4(), free, 4300),
        ("unknown destination", fx.root, f, Uuid::new_v4(), 4302),
        ("a pool of pools", fx.root, f, fx.rsm.root_pool(), 4302),
        ("Unrecognized → application", fx.root, f, app, 4302),
        ("Import → application", fx.root, i, app, 4302),
        ("Unrecognized → Import", fx.root, f, import, 4302),
        ("type mismatch into Free", fx.root, l7, free, 4315),
        (
            "INCOMPATIBLE into Free",
            fx.root,
            l6,
            fx.pool("\\Free\\LTO-6"),
            4315,
        ),
        ("no right on Unrecognized", fx.bob, f, free, 5),
        (
            "same pool",
            fx.root,
            f,
            fx.pool("\\Unrecognized\\LTO-8"),
            4302,
        ),
    ];
    for (what, s, m, to, want) in rows {
        assert_eq!(code(fx.rsm.move_to_media_pool(s, m, to)), want, "{what}");
    }
    // Unrecognized → Free → application → application; Free → Free refused.
    let moved = fx.rsm.move_to_media_pool(fx.root, f, free).unwrap();
    assert_eq!(
        (moved.from.as_str(), moved.to.as_str()),
        ("\\Unrecognized\\LTO-8", "\\Free\\LTO-8")
    );
    assert_eq!(
        fx.rsm.get_medium(fx.root, f).unwrap().sides[0].state,
        SideState::Available
    );
    assert_eq!(code(fx.rsm.move_to_media_pool(fx.root, f, free)), 4302);
    assert_eq!(code(fx.rsm.move_to_media_pool(fx.bob, f, app)), 5);
    fx.rsm.move_to_media_pool(fx.alice, f, app).unwrap();
    let a = fx
        .rsm
        .allocate_media(fx.alice, app, None, None, 0, Some(Duration::ZERO))
        .unwrap();
    // Into Free with a side in use: busy.
    assert_eq!(code(fx.rsm.move_to_media_pool(fx.alice, f, free)), 170);
    // Between application pools the logical medium follows.
    fx.rsm
        .move_to_media_pool(fx.alice, f, fx.pool("\\App2"))
        .unwrap();
    assert_eq!(fx.info("\\App2").logical_media, 1);
    assert_eq!(fx.info("\\App").logical_media, 0);
    fx.rsm.deallocate_media(fx.alice, a.lmid, 0).unwrap();
    // Import → Free is allowed.
    fx.rsm.move_to_media_pool(fx.root, i, free).unwrap();
    assert_eq!(fx.info("\\Free\\LTO-8").physical_media, 1);
    // Offline media cannot go to Free.
    fx.register(&[]);
    assert_eq!(code(fx.rsm.move_to_media_pool(fx.alice, f, free)), 4304);
}

/// Records every label request and answers as told.
#[derive(Debug, Default)]
struct FakeWork {
    seen: Mutex<Vec<LabelRequest>>,
    answer: Mutex<Option<Result<LabelOutcome, WorkError>>>,
}

impl MediaWork for FakeWork {
    fn write_label(&self, request: &LabelRequest) -> Result<LabelOutcome, WorkError> {
        self.seen.lock().unwrap().push(request.clone());
        self.answer
            .lock()
            .unwrap()
            .clone()
            .unwrap_or(Ok(LabelOutcome::Written))
    }
}

#[test]
fn labels_are_written_through_the_seam() {
    let fx = Fx::new();
    let work = std::sync::Arc::new(FakeWork::default());
    fx.rsm.set_media_work(work.clone());
    fx.register(&[slot(1000, "AAA001L8"), slot(1001, "AAA002L8")]);
    let free = fx.pool("\\Free\\LTO-8");
    let m = fx.by_barcode("AAA001L8").id;
    fx.rsm.move_to_media_pool(fx.root, m, free).unwrap();
    {
        let seen = work.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let r = &seen[0];
        assert_eq!(
            (
                r.library.as_str(),
                r.kind,
                r.address,
                r.home,
                r.medium,
                r.pool,
                r.pool_name.as_str()
            ),
            (
                "LIB1",
                LocationKind::Slot,
                1000,
                Some(1000),
                m,
                free,
                "\\Free\\LTO-8"
            )
        );
        assert_eq!(r.barcode.as_deref(), Some("AAA001L8"));
    }
    let side = &fx.rsm.medium(m).unwrap().sides[0];
    assert_eq!(side.omid_label_type.as_deref(), Some(OMID_REEL_MAM));
    assert_eq!(side.omid_label_id.as_deref(), Some(m.as_bytes().as_slice()));
    // A drive that refuses ATTRIBUTE commands: the bar code is the label.
    *work.answer.lock().unwrap() = Some(Ok(LabelOutcome::Unsupported));
    let m2 = fx.by_barcode("AAA002L8").id;
    fx.rsm.move_to_media_pool(fx.root, m2, free).unwrap();
    assert_eq!(
        fx.rsm.medium(m2).unwrap().sides[0]
            .omid_label_type
            .as_deref(),
        Some(OMID_BARCODE)
    );
    // A failing device leaves everything as it was.
    *work.answer.lock().unwrap() = Some(Err(WorkError("robot jammed".into())));
    let app = fx.pool("\\App");
    let before = fx.rsm.medium(m).unwrap();
    assert_eq!(code(fx.rsm.move_to_media_pool(fx.root, m, app)), 4319);
    assert_eq!(fx.rsm.medium(m).unwrap(), before);
    assert_eq!(fx.info("\\Free\\LTO-8").physical_media, 2);
    // Allocation writes the label too (FROMSCRATCH from Free).
    *work.answer.lock().unwrap() = None;
    fx.set_policy("\\App", NTMS_ALLOCATE_FROMSCRATCH, 0, 0);
    let n = work.seen.lock().unwrap().len();
    let a = fx
        .rsm
        .allocate_media(fx.alice, app, None, None, 0, Some(Duration::ZERO))
        .unwrap();
    let seen = work.seen.lock().unwrap();
    assert_eq!(seen.len(), n + 1);
    assert_eq!((seen[n].medium, seen[n].pool), (a.medium, app));
}

#[test]
fn database_errors_leave_nothing_half_written() {
    // Full: the object limit stops a registration as a whole.
    let fx = Fx::with(Config {
        db: crate::db::DbConfig {
            max_objects: Some(20),
            ..Default::default()
        },
        ..Config::default()
    });
    let before = fx.rsm.object_count();
    let carts: Vec<Cartridge> = (0..10)
        .map(|i| slot(1000 + i, &format!("F{i:05}L8")))
        .collect();
    assert_eq!(code(fx.rsm.register_media(fx.lib, &carts)), 4314);
    assert_eq!(fx.rsm.object_count(), before);
    assert!(fx.rsm.media().is_empty());
    let path = fx.dir.path().join("reel.db");
    assert_eq!(count_rows(&path, "physical_media").unwrap(), 0);
    // Failure: another writer holds the lock; an allocation leaves no logical medium.
    let fx = Fx::with(Config {
        db: crate::db::DbConfig {
            busy_timeout: Duration::from_millis(50),
            ..Default::default()
        },
        ..Config::default()
    });
    fx.with_free(&[slot(1000, "AAA001L8")]);
    fx.set_policy("\\App", NTMS_ALLOCATE_FROMSCRATCH, 0, 0);
    let path = fx.dir.path().join("reel.db");
    let app = fx.pool("\\App");
    {
        let _lock = WriteLock::hold(&path).unwrap();
        assert_eq!(
            code(
                fx.rsm
                    .allocate_media(fx.alice, app, None, None, 0, Some(Duration::ZERO))
            ),
            4313
        );
    }
    assert_eq!(fx.info("\\App").logical_media, 0);
    assert_eq!(fx.info("\\Free\\LTO-8").physical_media, 1);
    assert_eq!(count_rows(&path, "logical_media").unwrap(), 0);
    let m = fx.by_barcode("AAA001L8");
    assert_eq!(m.sides[0].state, SideState::Available);
    // And it works once the lock is gone.
    fx.rsm
        .allocate_media(fx.alice, app, None, None, 0, Some(Duration::ZERO))
        .unwrap();
}

/// A database written by reel 0.1.0 (schema 1: `reel serve` on default.toml, then `reel pool
/// create '\Backup'` and `'\Backup\Weekly' --media-type LTO-8`) opens, upgrades to the media
/// catalogue and takes media.
#[test]
fn a_schema_1_database_from_the_previous_release_upgrades() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("old.db");
    std::fs::write(
        &path,
        include_bytes!("../../../tests/data/reel-0.1.0-schema-1.db"),
    )
    .unwrap();
    let rsm = Rsm::open(&path, Config::default()).unwrap();
    assert_eq!(rsm.store.schema_version().unwrap(), 2);
    let libs = rsm.libraries();
    assert_eq!(libs.len(), 1);
    assert_eq!(libs[0].identity.serial, "SIMLIB0001");
    rsm.set_ready(true);
    let s = rsm.open_session(Identity::new(0, vec![0], 1));
    let weekly = rsm.find_pool(s, "\\Backup\\Weekly").unwrap();
    let info = rsm.get_pool_info(s, weekly).unwrap();
    assert_eq!((info.physical_media, info.logical_media), (0, 0));
    assert_eq!(info.media_type, Some(MediaType::Lto8));
    let r = rsm
        .register_media(
            libs[0].id,
            &[slot(1000, "ABC001L8"), slot(1023, "CLN001CU")],
        )
        .unwrap();
    assert_eq!((r.added, r.cleaners), (1, 1));
    drop(rsm);
    // Reopened: version 2 stays, the medium is there.
    let rsm = Rsm::open(&path, Config::default()).unwrap();
    assert_eq!(rsm.store.schema_version().unwrap(), 2);
    assert_eq!(rsm.media().len(), 1);
    assert_eq!(rsm.cleaners(libs[0].id).len(), 1);
}

#[test]
fn media_are_listed_in_pages_after_a_cursor() {
    let fx = Fx::new();
    let carts: Vec<Cartridge> = (0..12)
        .rev()
        .map(|i| slot(1000 + i, &format!("P{i:03}L8")))
        .collect();
    fx.register(&carts);
    let all = MediaFilter::default();
    let mut seen = vec![];
    let mut after = None;
    loop {
        let page = fx.rsm.list_media(fx.root, &all, after, 5).unwrap();
        assert_eq!(page.total, 12);
        let n = page.media.len();
        seen.extend(page.media.iter().map(|m| m.barcode.clone().unwrap()));
        after = page.media.last().map(|m| m.id);
        if n < 5 {
            break;
        }
    }
    let want: Vec<String> = (0..12).map(|i| format!("P{i:03}L8")).collect();
    assert_eq!(seen, want);
    // A pool filter, its total from the pool's count.
    let unrec = fx.pool("\\Unrecognized\\LTO-8");
    let page = fx
        .rsm
        .list_media(
            fx.root,
            &MediaFilter {
                pool: Some(unrec),
                ..Default::default()
            },
            None,
            100,
        )
        .unwrap();
    assert_eq!((page.media.len(), page.total), (12, 12));
    // A cursor that left the catalogue.
    let gone = fx.by_barcode("P003L8").id;
    fx.rsm.delete_media(fx.root, gone).unwrap();
    assert_eq!(code(fx.rsm.list_media(fx.root, &all, Some(gone), 5)), 87);
    // Offline only: none.
    let off = MediaFilter {
        offline: true,
        ..Default::default()
    };
    assert_eq!(fx.rsm.list_media(fx.root, &off, None, 5).unwrap().total, 0);
}
