//! The media catalogue through the daemon (issue 10): registration fills the pools, the media
//! functions and their error codes over the socket, rights as other users, the CLI documents.

use std::time::{Duration, Instant};

use reel::daemon::wire::{
    AceKind, Call, CreateDisposition, Created, ObjectType, WireAce, WireSecurity,
};
use reel::daemon::Client;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::util::daemon::{calls_as, open_tempdir, Daemon, User};

fn pool_id(c: &mut Client, name: &str) -> Uuid {
    let made: Created = c
        .call(Call::CreateMediaPool {
            name: name.into(),
            media_type: None,
            action: CreateDisposition::OpenExisting,
            security: None,
        })
        .unwrap();
    made.id
}

fn create(c: &mut Client, name: &str, t: Option<&str>) -> Uuid {
    let made: Created = c
        .call(Call::CreateMediaPool {
            name: name.into(),
            media_type: t.map(str::to_owned),
            action: CreateDisposition::CreateNew,
            security: None,
        })
        .unwrap();
    made.id
}

fn medium(c: &mut Client, barcode: &str) -> Value {
    c.call_value(Call::GetMedium {
        id: None,
        barcode: Some(barcode.into()),
    })
    .unwrap()
}

fn id_of(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

fn code(r: Result<Value, reel::daemon::Status>) -> u32 {
    match r {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(s) => s.code,
    }
}

fn move_to(c: &mut Client, barcode: &str, pool: &str) -> Result<Value, reel::daemon::Status> {
    let m = id_of(&medium(c, barcode));
    let p = pool_id(c, pool);
    c.call_value(Call::MoveToMediaPool { medium: m, pool: p })
}

fn allocate(
    c: &mut Client,
    pool: Uuid,
    options: u32,
    timeout_ms: Option<u64>,
) -> Result<Value, reel::daemon::Status> {
    c.call_value(Call::AllocateMedia {
        pool,
        side: None,
        next: None,
        options,
        timeout_ms,
    })
}

#[test]
fn registration_fills_the_pools_with_the_library_cartridges() {
    let mut d = Daemon::start();
    let doc = d.reel(&["media", "list", "--json"]).ok();
    let media = doc["media"].as_array().unwrap();
    // default.toml: ABC001L8 … ABC012L8 in slots 1000…1011, and a cleaner (not a medium).
    assert_eq!(media.len(), 12, "{doc}");
    for (i, m) in media.iter().enumerate() {
        let want = json!({
            "id": m["id"],
            "barcode": format!("ABC{:03}L8", i + 1),
            "media_type": "LTO-8",
            "pool": "\\Unrecognized\\LTO-8",
            "pool_type": "unrecognized",
            "state": "idle",
            "location": {"library": "SIMLIB0001", "type": "slot", "address": 1000 + i},
            "home": 1000 + i,
            "sides": [{"id": m["sides"][0]["id"], "state": "foreign", "lmid": null,
                       "allocate_count": 0, "mount_count": 0, "omid": null}],
        });
        assert_eq!(m, &want);
    }
    let pool = d
        .reel(&["pool", "show", "\\Unrecognized\\LTO-8", "--json"])
        .ok();
    assert_eq!(pool["pool"]["physical_media"], 12);
    assert_eq!(pool["pool"]["logical_media"], 0);
    // A restart sees the same cartridges: same ids, nothing added.
    d.kill();
    d.restart();
    let again = d.reel(&["media", "list", "--json"]).ok();
    assert_eq!(again, doc);
    // Filters.
    let none = d.reel(&["media", "list", "--offline", "--json"]).ok();
    assert_eq!(none, json!({"media": []}));
    let by_lib = d
        .reel(&[
            "media",
            "list",
            "--library",
            "SIMLIB0001",
            "--pool",
            "\\Unrecognized\\LTO-8",
            "--json",
        ])
        .ok();
    assert_eq!(by_lib["media"].as_array().unwrap().len(), 12);
    d.reel(&["media", "list", "--library", "NOSUCH", "--json"])
        .failed("ERROR_INVALID_LIBRARY", 4301);
}

/// The README's session, as documented.
#[test]
fn allocate_deallocate_session_through_the_cli() {
    let d = Daemon::start();
    d.reel(&[
        "pool",
        "create",
        "\\Backup",
        "--media-type",
        "LTO-8",
        "--json",
    ])
    .ok();
    let moved = d
        .reel(&["media", "move", "ABC001L8", "\\Free\\LTO-8", "--json"])
        .ok();
    let id = moved["moved"]["medium"].clone();
    assert_eq!(
        moved,
        json!({"moved": {"medium": id, "barcode": "ABC001L8",
                         "from": "\\Unrecognized\\LTO-8", "to": "\\Free\\LTO-8"}})
    );
    // Into Free the cartridge got reel's label (the simulated drives take WRITE ATTRIBUTE),
    // and is home again.
    let m = d.reel(&["media", "show", "ABC001L8", "--json"]).ok();
    assert_eq!(m["medium"]["sides"][0]["omid"], "REEL-MAM");
    assert_eq!(m["medium"]["location"]["address"], 1000);
    d.reel(&["media", "move", "ABC001L8", "\\Backup", "--json"])
        .ok();
    let got = d
        .reel(&["media", "allocate", "\\Backup", "--timeout", "0", "--json"])
        .ok();
    let a = &got["allocated"];
    assert_eq!(
        got,
        json!({"allocated": {"lmid": a["lmid"], "medium": id, "barcode": "ABC001L8",
                             "side": a["side"], "from_pool": "\\Backup"}})
    );
    let lmid = a["lmid"].as_str().unwrap();
    let shown = d.reel(&["media", "show", lmid, "--json"]).ok();
    assert_eq!(shown["medium"]["sides"][0]["state"], "allocated");
    assert_eq!(shown["medium"]["sides"][0]["lmid"], a["lmid"]);
    let pool = d.reel(&["pool", "show", "\\Backup", "--json"]).ok();
    assert_eq!(
        (
            pool["pool"]["physical_media"].clone(),
            pool["pool"]["logical_media"].clone()
        ),
        (json!(1), json!(1))
    );
    let done = d.reel(&["media", "complete", lmid, "--json"]).ok();
    assert_eq!(done["medium"]["sides"][0]["state"], "complete");
    let gone = d.reel(&["media", "deallocate", lmid, "--json"]).ok();
    assert_eq!(
        gone,
        json!({"deallocated": {"lmid": lmid, "state": "available"}})
    );
    let human = d.reel(&["media", "show", "ABC001L8"]);
    assert!(
        human.stdout.contains("\\Backup (application)"),
        "{}",
        human.stdout
    );
    let dec = d
        .reel(&["media", "decommission", "ABC001L8", "--json"])
        .ok();
    assert_eq!(dec["medium"]["sides"][0]["state"], "decommissioned");
    // Delete: an online medium with a decommissioned side stays.
    d.reel(&["media", "delete", "ABC001L8", "--json"])
        .failed("ERROR_INVALID_STATE", 5023);
    let del = d.reel(&["media", "delete", "ABC002L8", "--json"]).ok();
    assert_eq!(del["deleted"]["id"].as_str().map(str::len), Some(36));
}

#[test]
fn media_error_codes_through_the_socket() {
    let d = Daemon::start();
    let mut c = d.client();
    let backup = create(&mut c, "\\Backup", Some("LTO-8"));
    let other = create(&mut c, "\\Seven", Some("LTO-7"));
    move_to(&mut c, "ABC001L8", "\\Free\\LTO-8").unwrap();
    move_to(&mut c, "ABC002L8", "\\Free\\LTO-8").unwrap();
    move_to(&mut c, "ABC002L8", "\\Backup").unwrap();
    let a = allocate(&mut c, backup, 0, Some(0)).unwrap();
    let lmid: Uuid = a["lmid"].as_str().unwrap().parse().unwrap();
    let m1 = id_of(&medium(&mut c, "ABC001L8"));
    let m2 = id_of(&medium(&mut c, "ABC002L8"));
    let m3 = id_of(&medium(&mut c, "ABC003L8"));
    let free = pool_id(&mut c, "\\Free\\LTO-8");
    let nobody = Uuid::new_v4();
    let rows: Vec<(&str, Call, u32)> = vec![
        (
            "unknown medium",
            Call::GetMedium {
                id: Some(nobody),
                barcode: None,
            },
            4312,
        ),
        (
            "unknown bar code",
            Call::GetMedium {
                id: None,
                barcode: Some("NOPE".into()),
            },
            4300,
        ),
        (
            "unknown pool",
            Call::AllocateMedia {
                pool: nobody,
                side: None,
                next: None,
                options: 0,
                timeout_ms: Some(0),
            },
            4302,
        ),
        (
            "unknown side",
            Call::AllocateMedia {
                pool: backup,
                side: Some(nobody),
                next: None,
                options: 0,
                timeout_ms: Some(0),
            },
            4300,
        ),
        (
            "unknown LMID",
            Call::DeallocateMedia {
                lmid: nobody,
                options: 0,
            },
            4300,
        ),
        (
            "bad options",
            Call::DeallocateMedia { lmid, options: 1 },
            87,
        ),
        (
            "unknown LMID, complete",
            Call::SetMediaComplete { lmid: nobody },
            4300,
        ),
        (
            "unknown medium, move",
            Call::MoveToMediaPool {
                medium: nobody,
                pool: free,
            },
            4300,
        ),
        (
            "unknown medium, delete",
            Call::DeleteMedia { id: nobody },
            4300,
        ),
        (
            "unknown medium, decommission",
            Call::DecommissionMedia { id: nobody },
            4300,
        ),
        (
            "type mismatch",
            Call::MoveToMediaPool {
                medium: m1,
                pool: other,
            },
            4315,
        ),
        (
            "type mismatch, allocate",
            Call::AllocateMedia {
                pool: other,
                side: Some(m1),
                next: None,
                options: 0,
                timeout_ms: Some(0),
            },
            4315,
        ),
        (
            "Unrecognized → application",
            Call::MoveToMediaPool {
                medium: m3,
                pool: backup,
            },
            4302,
        ),
        (
            "Free → Free",
            Call::MoveToMediaPool {
                medium: m1,
                pool: free,
            },
            4302,
        ),
        (
            "a side in use → Free",
            Call::MoveToMediaPool {
                medium: m2,
                pool: free,
            },
            170,
        ),
        (
            "allocated side given",
            Call::AllocateMedia {
                pool: backup,
                side: Some(m2),
                next: None,
                options: 0,
                timeout_ms: Some(0),
            },
            4308,
        ),
        (
            "decommission an allocated side",
            Call::DecommissionMedia { id: m2 },
            5023,
        ),
        (
            "delete an allocated medium",
            Call::DeleteMedia { id: m2 },
            5023,
        ),
        (
            "nothing left, ERROR_IF_UNAVAILABLE",
            Call::AllocateMedia {
                pool: backup,
                side: None,
                next: None,
                options: 4,
                timeout_ms: None,
            },
            4308,
        ),
        (
            "nothing left, timeout 0",
            Call::AllocateMedia {
                pool: backup,
                side: None,
                next: None,
                options: 0,
                timeout_ms: Some(0),
            },
            1460,
        ),
        (
            "bad allocate options",
            Call::AllocateMedia {
                pool: backup,
                side: None,
                next: None,
                options: 3,
                timeout_ms: Some(0),
            },
            87,
        ),
        (
            "page too large",
            Call::ListMedia {
                pool: None,
                library: None,
                offline: false,
                after: None,
                limit: 1_000_000,
            },
            87,
        ),
        (
            "unknown opreq",
            Call::AnswerOperatorRequest {
                id: nobody,
                satisfy: true,
            },
            4312,
        ),
    ];
    for (what, call, want) in rows {
        assert_eq!(code(c.call_value(call)), want, "{what}");
    }
    c.call_value(Call::SetMediaComplete { lmid }).unwrap();
    assert_eq!(
        code(c.call_value(Call::SetMediaComplete { lmid })),
        5023,
        "complete twice"
    );
    // The CLI prints the same codes.
    d.reel(&["media", "move", "ABC001L8", "\\Free\\LTO-8", "--json"])
        .failed("ERROR_INVALID_MEDIA_POOL", 4302);
    d.reel(&[
        "media",
        "allocate",
        "\\Backup",
        "--error-if-unavailable",
        "--json",
    ])
    .failed("ERROR_MEDIA_UNAVAILABLE", 4308);
}

fn wait_for_request(d: &Daemon) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = d.reel(&["opreq", "--json"]).ok();
        if let Some(r) = list["operator_requests"].as_array().and_then(|a| a.first()) {
            return r.clone();
        }
        assert!(Instant::now() < deadline, "no operator request appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn newmedia_operator_requests_through_the_daemon() {
    let d = Daemon::start();
    d.reel(&[
        "pool",
        "create",
        "\\Backup",
        "--media-type",
        "LTO-8",
        "--json",
    ])
    .ok();
    // Withdrawn on timeout.
    let t = Instant::now();
    d.reel(&[
        "media",
        "allocate",
        "\\Backup",
        "--timeout",
        "300",
        "--json",
    ])
    .failed("ERROR_TIMEOUT", 1460);
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        d.reel(&["opreq", "--json"]).ok(),
        json!({"operator_requests": []})
    );
    // Refused.
    let socket = d.socket.clone();
    let waiter = std::thread::spawn(move || {
        let mut c = Client::connect(&socket, "backup-app").unwrap();
        let pool = pool_id(&mut c, "\\Backup");
        allocate(&mut c, pool, 0, Some(20_000))
    });
    let r = wait_for_request(&d);
    assert_eq!(r["type"], "newmedia");
    assert_eq!(r["state"], "submitted");
    assert_eq!(r["application"], "backup-app");
    assert_eq!(r["user"], "uid:0");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("\\Backup (LTO-8) into library SIMLIB0001"),
        "{r}"
    );
    let id = r["id"].as_str().unwrap();
    // Another user may not refuse it.
    d.reel_as(Some(&User::new(3001)), &["opreq", "refuse", id, "--json"])
        .failed("ERROR_ACCESS_DENIED", 5);
    d.reel(&["opreq", "refuse", id, "--json"]).ok();
    assert_eq!(code(waiter.join().unwrap()), 1223);
    // Satisfied once a medium is in the pool.
    let socket = d.socket.clone();
    let waiter = std::thread::spawn(move || {
        let mut c = Client::connect(&socket, "backup-app").unwrap();
        let pool = pool_id(&mut c, "\\Backup");
        allocate(&mut c, pool, 0, None)
    });
    let r = wait_for_request(&d);
    d.reel(&["media", "move", "ABC005L8", "\\Free\\LTO-8", "--json"])
        .ok();
    d.reel(&["media", "move", "ABC005L8", "\\Backup", "--json"])
        .ok();
    d.reel(&["opreq", "satisfy", r["id"].as_str().unwrap(), "--json"])
        .ok();
    let got = waiter.join().unwrap().unwrap();
    assert_eq!(got["barcode"], "ABC005L8");
    assert_eq!(
        d.reel(&["opreq", "--json"]).ok(),
        json!({"operator_requests": []})
    );
    let msg = d
        .reel(&["opreq", "submit", "message", "clean the robot", "--json"])
        .ok();
    assert_eq!(msg["operator_requests"][0]["type"], "message");
}

#[test]
fn every_media_function_checks_rights_for_other_users() {
    let d = Daemon::start();
    let mut c = d.client();
    let backup = create(&mut c, "\\Backup", Some("LTO-8"));
    let free = pool_id(&mut c, "\\Free\\LTO-8");
    move_to(&mut c, "ABC001L8", "\\Free\\LTO-8").unwrap();
    move_to(&mut c, "ABC001L8", "\\Backup").unwrap();
    move_to(&mut c, "ABC002L8", "\\Free\\LTO-8").unwrap();
    move_to(&mut c, "ABC002L8", "\\Backup").unwrap();
    move_to(&mut c, "ABC003L8", "\\Free\\LTO-8").unwrap();
    let a = allocate(&mut c, backup, 0, Some(0)).unwrap();
    let lmid: Uuid = a["lmid"].as_str().unwrap().parse().unwrap();
    let held = id_of(&medium(&mut c, a["barcode"].as_str().unwrap()));
    let spare_code = if a["barcode"] == "ABC001L8" {
        "ABC002L8"
    } else {
        "ABC001L8"
    };
    let spare = id_of(&medium(&mut c, spare_code));
    let in_free = id_of(&medium(&mut c, "ABC003L8"));
    let calls = vec![
        Call::ListMedia {
            pool: Some(backup),
            library: None,
            offline: false,
            after: None,
            limit: 10,
        },
        Call::GetMedium {
            id: Some(held),
            barcode: None,
        },
        Call::AllocateMedia {
            pool: backup,
            side: None,
            next: None,
            options: 0,
            timeout_ms: Some(0),
        },
        Call::DeallocateMedia { lmid, options: 0 },
        Call::SetMediaComplete { lmid },
        Call::DecommissionMedia { id: spare },
        Call::MoveToMediaPool {
            medium: spare,
            pool: free,
        },
        Call::MoveToMediaPool {
            medium: in_free,
            pool: backup,
        },
        Call::DeleteMedia { id: spare },
    ];
    // Another uid: \Backup gives it nothing (its creator and local system only).
    for (i, r) in calls_as(&d.socket, &User::new(3001), &calls)
        .into_iter()
        .enumerate()
    {
        assert_eq!(r.map_err(|e| e.1), Err(5), "call {i}: {:?}", calls[i]);
    }
    // Without rights the whole-catalogue list leaves \Backup's media out.
    let all = calls_as(
        &d.socket,
        &User::new(3001),
        &[Call::ListMedia {
            pool: None,
            library: None,
            offline: false,
            after: None,
            limit: 100,
        }],
    );
    let all = all[0].as_ref().unwrap();
    assert_eq!(all["total"], 10, "{all}");
    // A member of group 4242 with USE on \Backup reads, but may not change anything.
    let sec = WireSecurity {
        owner: None,
        entries: vec![
            WireAce {
                kind: AceKind::Allow,
                who: "uid:0".into(),
                rights: vec![
                    "use".into(),
                    "modify".into(),
                    "control".into(),
                    "read-control".into(),
                    "write-dac".into(),
                ],
            },
            WireAce {
                kind: AceKind::Allow,
                who: "gid:4242".into(),
                rights: vec!["use".into()],
            },
        ],
    };
    c.call_value(Call::SetObjectSecurity {
        id: backup,
        security: sec.clone(),
    })
    .unwrap();
    let member = User::in_groups(3002, &[4242]);
    let got = calls_as(&d.socket, &member, &calls);
    let codes: Vec<Result<(), u32>> = got
        .iter()
        .map(|r| r.as_ref().map(drop).map_err(|e| e.1))
        .collect();
    assert_eq!(
        codes,
        vec![
            Ok(()),
            Ok(()),
            Err(5),
            Err(5),
            Err(5),
            Err(5),
            Err(5),
            Err(5),
            Err(5)
        ]
    );
    // With CONTROL too, the group member allocates (and USE on Free is everyone's).
    let mut sec = sec;
    sec.entries[1].rights.push("control".into());
    c.call_value(Call::SetObjectSecurity {
        id: backup,
        security: sec,
    })
    .unwrap();
    let got = calls_as(
        &d.socket,
        &member,
        &[
            Call::AllocateMedia {
                pool: backup,
                side: None,
                next: None,
                options: 0,
                timeout_ms: Some(0),
            },
            Call::MoveToMediaPool {
                medium: in_free,
                pool: backup,
            },
        ],
    );
    assert!(got.iter().all(|r| r.is_ok()), "{got:?}");
}

#[test]
fn database_full_and_failure_leave_nothing_half_written() {
    let mut d = Daemon::start_at(open_tempdir());
    let mut c = d.client();
    create(&mut c, "\\Backup", Some("LTO-8"));
    move_to(&mut c, "ABC001L8", "\\Free\\LTO-8").unwrap();
    move_to(&mut c, "ABC001L8", "\\Backup").unwrap();
    drop(c);
    let objects = reel::db::testing::count_rows(&d.db, "pools").unwrap()
        + reel::db::testing::count_rows(&d.db, "libraries").unwrap()
        + reel::db::testing::count_rows(&d.db, "physical_media").unwrap()
        + reel::db::testing::count_rows(&d.db, "sides").unwrap()
        + reel::db::testing::count_rows(&d.db, "logical_media").unwrap();
    // FULL: no room for the logical medium an allocation needs.
    d.kill();
    d.extra_args = vec!["--max-objects".into(), objects.to_string()];
    d.restart();
    d.reel(&["media", "allocate", "\\Backup", "--timeout", "0", "--json"])
        .failed("ERROR_DATABASE_FULL", 4314);
    let m = d.reel(&["media", "show", "ABC001L8", "--json"]).ok();
    assert_eq!(m["medium"]["sides"][0]["state"], "available");
    assert_eq!(m["medium"]["sides"][0]["allocate_count"], 0);
    assert_eq!(
        reel::db::testing::count_rows(&d.db, "logical_media").unwrap(),
        0
    );
    // FAILURE: another process holds the database's write lock past the busy timeout.
    d.kill();
    d.extra_args.clear();
    d.restart();
    {
        let _lock = reel::db::testing::WriteLock::hold(&d.db).unwrap();
        d.reel(&["media", "allocate", "\\Backup", "--timeout", "0", "--json"])
            .failed("ERROR_DATABASE_FAILURE", 4313);
    }
    let pool = d.reel(&["pool", "show", "\\Backup", "--json"]).ok();
    assert_eq!(pool["pool"]["logical_media"], 0);
    let m = d.reel(&["media", "show", "ABC001L8", "--json"]).ok();
    assert_eq!(m["medium"]["sides"][0]["state"], "available");
    // And it works once the lock is gone.
    d.reel(&["media", "allocate", "\\Backup", "--timeout", "0", "--json"])
        .ok();
}

#[test]
fn enumerate_physical_media_sides_and_logical_media() {
    use reel::daemon::wire::Enumerated;
    let d = Daemon::start();
    let mut c = d.client();
    let backup = create(&mut c, "\\Backup", Some("LTO-8"));
    move_to(&mut c, "ABC001L8", "\\Free\\LTO-8").unwrap();
    move_to(&mut c, "ABC001L8", "\\Backup").unwrap();
    let a = allocate(&mut c, backup, 0, Some(0)).unwrap();
    let m = medium(&mut c, "ABC001L8");
    let (mid, side, lmid) = (
        id_of(&m),
        m["sides"][0]["id"]
            .as_str()
            .unwrap()
            .parse::<Uuid>()
            .unwrap(),
        a["lmid"].as_str().unwrap().parse::<Uuid>().unwrap(),
    );
    let unrec = pool_id(&mut c, "\\Unrecognized\\LTO-8");
    let mut en = |container: Option<Uuid>, object_type: ObjectType| {
        c.call::<Enumerated>(Call::Enumerate {
            container,
            object_type,
            root_pool: false,
        })
        .map(|e| e.ids)
        .map_err(|s| s.code)
    };
    type Row<'a> = (&'a str, Option<Uuid>, ObjectType, Result<Vec<Uuid>, u32>);
    let rows: Vec<Row> = vec![
        (
            "media of a pool",
            Some(backup),
            ObjectType::PhysicalMedia,
            Ok(vec![mid]),
        ),
        (
            "sides of a medium",
            Some(mid),
            ObjectType::Partition,
            Ok(vec![side]),
        ),
        (
            "sides of a pool",
            Some(backup),
            ObjectType::Partition,
            Ok(vec![side]),
        ),
        (
            "the side of an LMID",
            Some(lmid),
            ObjectType::Partition,
            Ok(vec![side]),
        ),
        (
            "logical media of a pool",
            Some(backup),
            ObjectType::LogicalMedia,
            Ok(vec![lmid]),
        ),
        (
            "the logical medium of a side",
            Some(side),
            ObjectType::LogicalMedia,
            Ok(vec![lmid]),
        ),
        (
            "logical media of Unrecognized",
            Some(unrec),
            ObjectType::LogicalMedia,
            Ok(vec![]),
        ),
        (
            "media in a side",
            Some(side),
            ObjectType::PhysicalMedia,
            Err(87),
        ),
        (
            "logical media of a medium",
            Some(mid),
            ObjectType::LogicalMedia,
            Err(87),
        ),
        (
            "unknown container",
            Some(Uuid::new_v4()),
            ObjectType::Partition,
            Err(4312),
        ),
    ];
    for (what, container, t, want) in rows {
        assert_eq!(en(container, t), want, "{what}");
    }
    let all = en(None, ObjectType::PhysicalMedia).unwrap();
    assert_eq!(all.len(), 12);
    assert_eq!(en(None, ObjectType::LogicalMedia).unwrap(), vec![lmid]);
    // Another uid may not enumerate \Backup.
    let got = calls_as(
        &d.socket,
        &User::new(3001),
        &[Call::Enumerate {
            container: Some(backup),
            object_type: ObjectType::PhysicalMedia,
            root_pool: false,
        }],
    );
    assert_eq!(got[0].as_ref().map_err(|e| e.1).unwrap_err(), 5);
}
