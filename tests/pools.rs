//! Integration tests: the pool CLI through a running daemon (cli.md "The daemon and its
//! clients"), and the rights table of rsm-media-pools §4.2 for several Unix identities.

use serde_json::{json, Value};

use crate::util::daemon::{calls_as, Daemon, Outcome, User, REEL};
use reel::daemon::wire::{Call, CreateDisposition, ObjectType, PoolUpdate, WireAce, WireSecurity};
use reel::media::MediaType;

fn id_of(doc: &Value, path: &[&str]) -> String {
    let mut v = doc;
    for p in path {
        v = &v[*p];
    }
    v.as_str()
        .unwrap_or_else(|| panic!("no id at {path:?} in {doc}"))
        .to_owned()
}

#[test]
fn every_pool_command_round_trips_with_the_documented_json() {
    let d = Daemon::start();
    let lto8 = MediaType::from_name("LTO-8").unwrap().id().to_string();

    // create: a pool of pools, a rooted name without `\`, a media type by name and by id.
    let app = d.reel(&["pool", "create", r"\App", "--json"]).ok();
    let app_id = id_of(&app, &["pool", "id"]);
    assert_eq!(
        app,
        json!({"pool": {"id": app_id, "name": "\\App", "media_type": null, "created": true}})
    );
    let pool = d
        .reel(&[
            "pool",
            "create",
            r"App\Pool",
            "--media-type",
            "LTO-8",
            "--json",
        ])
        .ok();
    let pool_id = id_of(&pool, &["pool", "id"]);
    assert_eq!(
        pool,
        json!({"pool": {"id": pool_id, "name": "\\App\\Pool", "media_type": "LTO-8", "created": true}})
    );
    let pool2 = d
        .reel(&[
            "pool",
            "create",
            r"\App\Pool2",
            "--media-type",
            &lto8,
            "--action",
            "open-always",
            "--json",
        ])
        .ok();
    let pool2_id = id_of(&pool2, &["pool", "id"]);
    assert_eq!(
        pool2,
        json!({"pool": {"id": pool2_id, "name": "\\App\\Pool2", "media_type": "LTO-8", "created": true}})
    );

    // Opening: same id, created false, whatever the case of the name.
    for action in ["open-existing", "open-always"] {
        let opened = d
            .reel(&["pool", "create", r"\app\POOL", "--action", action, "--json"])
            .ok();
        assert_eq!(
            opened,
            json!({"pool": {"id": pool_id, "name": "\\App\\Pool", "media_type": "LTO-8", "created": false}}),
            "{action}"
        );
    }

    // Failures: exit 1, the error line, the error document.
    let cases: Vec<(Vec<&str>, &str, u32)> = vec![
        (
            vec!["pool", "create", r"\App\Pool"],
            "ERROR_ALREADY_EXISTS",
            183,
        ),
        (
            vec!["pool", "create", r"\Nope\P"],
            "ERROR_OBJECT_NOT_FOUND",
            4312,
        ),
        (
            vec!["pool", "create", r"\Nope", "--action", "open-existing"],
            "ERROR_OBJECT_NOT_FOUND",
            4312,
        ),
        (vec!["pool", "create", r"\a\\b"], "ERROR_INVALID_NAME", 123),
        (
            vec!["pool", "create", r"\X", "--media-type", "LTO-5"],
            "ERROR_INVALID_MEDIA",
            4300,
        ),
        (
            vec!["pool", "create", r"\Free\Mine"],
            "ERROR_INVALID_MEDIA_POOL",
            4302,
        ),
        (vec!["pool", "delete", r"\App"], "ERROR_NOT_EMPTY", 4307),
        (
            vec!["pool", "show", r"\Nope"],
            "ERROR_OBJECT_NOT_FOUND",
            4312,
        ),
    ];
    for (args, name, code) in cases {
        let mut argv = args.clone();
        argv.push("--json");
        d.reel(&argv).failed(name, code);
    }

    // list: the top level holds the system containers and \App; \App holds its two pools.
    let top = d.reel(&["pool", "list", "--json"]).ok();
    let mut names: Vec<(String, String)> = top["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            (r"\App".into(), "application".into()),
            (r"\Free".into(), "free".into()),
            (r"\Import".into(), "import".into()),
            (r"\Unrecognized".into(), "unrecognized".into()),
        ]
    );
    let app_entry = top["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "\\App")
        .unwrap();
    assert_eq!(
        app_entry,
        &json!({"id": app_id, "name": "\\App", "type": "application", "media_type": null})
    );
    let mut children = d.reel(&["pool", "list", r"\App", "--json"]).ok();
    children["pools"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|p| p["name"].as_str().unwrap().to_owned());
    assert_eq!(
        children,
        json!({"pools": [
            {"id": pool_id, "name": "\\App\\Pool", "type": "application", "media_type": "LTO-8"},
            {"id": pool2_id, "name": "\\App\\Pool2", "type": "application", "media_type": "LTO-8"},
        ]})
    );
    let free = d.reel(&["pool", "list", r"\Free", "--json"]).ok();
    assert!(
        free["pools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "\\Free\\LTO-8"
                && p["type"] == "free"
                && p["media_type"] == "LTO-8"),
        "Free holds one pool per detected media type: {free}"
    );

    // show: every field.
    let mut shown = d.reel(&["pool", "show", r"\App\Pool", "--json"]).ok();
    for stamp in ["created_ms", "modified_ms"] {
        let t = shown["pool"].as_object_mut().unwrap().remove(stamp);
        assert!(
            t.and_then(|t| t.as_i64())
                .is_some_and(|t| t > 1_600_000_000_000),
            "{stamp}"
        );
    }
    assert_eq!(
        shown,
        json!({"pool": {
            "id": pool_id, "name": "\\App\\Pool", "type": "application", "pool_type": 1000,
            "media_type": "LTO-8", "media_type_id": lto8, "parent": app_id, "description": "",
            "allocation_policy": 0, "deallocation_policy": 0, "max_allocates": 0,
            "physical_media": 0, "logical_media": 0, "child_pools": 0, "owner": {"uid": 0},
            "enabled": true,
        }})
    );
    let shown_app = d.reel(&["pool", "show", "App", "--json"]).ok();
    assert_eq!(shown_app["pool"]["child_pools"], 2);
    assert_eq!(shown_app["pool"]["media_type"], Value::Null);
    let root = d.reel(&["pool", "show", r"\", "--json"]).ok();
    assert_eq!(root["pool"]["name"], "\\");
    assert_eq!(root["pool"]["parent"], Value::Null);

    // security: show, replace (deny first, then allow, each in the order given), show again.
    let sec = d.reel(&["pool", "security", r"\App\Pool", "--json"]).ok();
    assert_eq!(sec["security"]["owner"], json!({"uid": 0}));
    assert!(!sec["security"]["entries"].as_array().unwrap().is_empty());
    let replaced = d
        .reel(&[
            "pool",
            "security",
            r"\App\Pool",
            "--allow",
            "uid:1000:use,modify",
            "--deny",
            "everyone:write-dac",
            "--allow",
            "gid:26:all",
            "--json",
        ])
        .ok();
    assert_eq!(
        replaced,
        json!({"security": {"owner": {"uid": 0}, "entries": [
            {"kind": "deny", "who": "everyone", "rights": ["write-dac"]},
            {"kind": "allow", "who": "uid:1000", "rights": ["use", "modify"]},
            {"kind": "allow", "who": "gid:26",
             "rights": ["use", "modify", "control", "read-control", "write-dac"]},
        ]}})
    );
    assert_eq!(
        d.reel(&["pool", "security", r"\App\Pool", "--json"]).ok(),
        replaced
    );
    let root_sec = d.reel(&["pool", "security", r"\", "--json"]).ok();
    assert!(root_sec["security"]["entries"].is_array());

    // delete.
    let deleted = d.reel(&["pool", "delete", r"\App\Pool2", "--json"]).ok();
    assert_eq!(
        deleted,
        json!({"deleted": {"id": pool2_id, "name": "\\App\\Pool2"}})
    );
    d.reel(&["pool", "show", r"\App\Pool2", "--json"])
        .failed("ERROR_OBJECT_NOT_FOUND", 4312);
    d.reel(&["pool", "delete", r"\", "--json"])
        .failed("ERROR_INVALID_MEDIA_POOL", 4302);
}

#[test]
fn media_types_and_library_come_from_the_daemons_inventory() {
    let d = Daemon::start();
    let lib = d.reel(&["library", "--json"]).ok();
    let serial = lib["libraries"][0]["changer"]["serial"]
        .as_str()
        .expect("a library with a changer serial")
        .to_owned();
    let discovered: Value = serde_json::from_slice(
        &std::process::Command::new(REEL)
            .args(["discover", "--json", "--sim"])
            .arg(crate::util::daemon::default_layout())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(lib, discovered, "library = the discover document");
    let rescanned = d.reel(&["library", "--rescan", "--json"]).ok();
    assert_eq!(rescanned, discovered);

    let types = d.reel(&["media-types", "--json"]).ok();
    let want: Vec<Value> = lib["libraries"][0]["media_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({"name": t["name"], "id": t["id"], "libraries": [serial]}))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(types, json!({ "media_types": want }));

    let human = d.reel(&["media-types"]);
    assert_eq!(human.code, 0);
    assert!(human.stdout.starts_with("NAME"), "{}", human.stdout);
    assert!(human.stdout.contains("LTO-8"));
}

#[test]
fn human_output_is_tables_and_usage_errors_exit_2() {
    let d = Daemon::start();
    let made = d.reel(&["pool", "create", r"\Tbl", "--media-type", "LTO-8"]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert!(
        made.stdout.starts_with(r"created pool \Tbl ("),
        "{}",
        made.stdout
    );
    let list = d.reel(&["pool", "list"]);
    let header = list.stdout.lines().next().unwrap();
    assert!(header.starts_with("NAME"), "{header}");
    assert!(header.contains("TYPE") && header.contains("MEDIA TYPE") && header.contains("ID"));
    assert!(
        list.stdout.lines().any(|l| l.starts_with(r"\Tbl ")),
        "{}",
        list.stdout
    );
    let show = d.reel(&["pool", "show", r"\Tbl"]);
    assert!(
        show.stdout.contains("media type:     LTO-8"),
        "{}",
        show.stdout
    );

    for bad in [
        vec!["pool", "create", r"\X", "--allow", "uid:x:use"],
        vec!["pool", "security", r"\X", "--deny", "someone:use"],
        vec!["pool", "create", r"\X", "--allow", "everyone:fly"],
        vec!["pool", "create", r"\X", "--action", "maybe"],
    ] {
        let r = d.reel(&bad);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
    }
}

#[test]
fn an_unreachable_daemon_is_error_not_connected() {
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("none.sock");
    let out = std::process::Command::new(REEL)
        .args(["pool", "list", "--json", "--socket"])
        .arg(&sock)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["name"], "ERROR_NOT_CONNECTED");
    assert_eq!(doc["error"]["code"], 2250);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ERROR_NOT_CONNECTED (2250): cannot reach the reel daemon"),
        "{err}"
    );

    // $REEL_SOCKET is the fallback for --socket.
    let d = Daemon::start();
    let out = std::process::Command::new(REEL)
        .args(["pool", "list", "--json"])
        .env("REEL_SOCKET", &d.socket)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What one identity may do with one pool: the expected outcome of each operation.
struct Row {
    who: &'static str,
    user: Option<User>,
    open: bool,
    info: bool,
    list: bool,
    set_info: bool,
    get_sec: bool,
    set_sec: bool,
    create_child: bool,
}

#[test]
fn the_rights_table_holds_for_owner_other_group_everyone_and_root() {
    let d = Daemon::start();
    let owner = User::new(2000);
    // Root lets uid 2000 create top-level pools (C on the root pool), everyone else keeps U.
    d.reel(&[
        "pool",
        "security",
        r"\",
        "--allow",
        "uid:0:all",
        "--allow",
        "uid:2000:use,control",
        "--allow",
        "everyone:use",
        "--json",
    ])
    .ok();
    let made = d
        .reel_as(Some(&owner), &["pool", "create", r"\Team", "--json"])
        .ok();
    assert_eq!(made["pool"]["created"], true);
    // \Team\Shared: owner has use+control, group 4242 use+modify, everyone use.
    let shared = d
        .reel_as(
            Some(&owner),
            &[
                "pool",
                "create",
                r"\Team\Shared",
                "--allow",
                "uid:2000:use,control",
                "--allow",
                "gid:4242:use,modify",
                "--allow",
                "everyone:use",
                "--json",
            ],
        )
        .ok();
    let shared_id: uuid::Uuid = id_of(&shared, &["pool", "id"]).parse().unwrap();
    let sec = d
        .reel(&["pool", "security", r"\Team\Shared", "--json"])
        .ok();
    assert_eq!(
        sec["security"]["owner"],
        json!({"uid": 2000}),
        "the creator owns it"
    );

    let rows = [
        Row {
            who: "owner",
            user: Some(owner.clone()),
            open: true,
            info: true,
            list: true,
            set_info: false,
            get_sec: true,
            set_sec: true,
            create_child: true,
        },
        Row {
            who: "group member",
            user: Some(User::in_groups(3002, &[4242])),
            open: true,
            info: true,
            list: true,
            set_info: true,
            get_sec: false,
            set_sec: false,
            create_child: false,
        },
        Row {
            who: "everyone",
            user: Some(User::new(3001)),
            open: true,
            info: true,
            list: true,
            set_info: false,
            get_sec: false,
            set_sec: false,
            create_child: false,
        },
        Row {
            who: "root",
            user: None,
            open: true,
            info: true,
            list: true,
            set_info: true,
            get_sec: true,
            set_sec: true,
            create_child: true,
        },
    ];
    let same_sec = WireSecurity {
        owner: None,
        entries: vec![
            ace("allow", "uid:2000", &["use", "control"]),
            ace("allow", "gid:4242", &["use", "modify"]),
            ace("allow", "everyone", &["use"]),
        ],
    };
    for row in rows {
        let child = format!(r"\Team\Shared\{}", row.who.replace(' ', "_"));
        let calls = vec![
            Call::CreateMediaPool {
                name: r"\Team\Shared".into(),
                media_type: None,
                action: CreateDisposition::OpenExisting,
                security: None,
            },
            Call::GetPoolInformation { id: shared_id },
            Call::Enumerate {
                container: Some(shared_id),
                object_type: ObjectType::MediaPool,
                root_pool: false,
            },
            Call::SetPoolInformation {
                id: shared_id,
                info: PoolUpdate {
                    name: "Shared".into(),
                    description: format!("set by {}", row.who),
                    media_type: None,
                    allocation_policy: 0,
                    deallocation_policy: 0,
                    max_allocates: 0,
                },
            },
            Call::GetObjectSecurity { id: shared_id },
            Call::SetObjectSecurity {
                id: shared_id,
                security: same_sec.clone(),
            },
            Call::CreateMediaPool {
                name: child,
                media_type: None,
                action: CreateDisposition::CreateNew,
                security: None,
            },
        ];
        let want = [
            row.open,
            row.info,
            row.list,
            row.set_info,
            row.get_sec,
            row.set_sec,
            row.create_child,
        ];
        let got: Vec<Outcome> = match &row.user {
            Some(u) => calls_as(&d.socket, u, &calls),
            None => {
                let mut c = d.client();
                calls
                    .into_iter()
                    .map(|call| c.call_value(call).map_err(|s| (s.name, s.code)))
                    .collect()
            }
        };
        let ops = [
            "open",
            "get info",
            "enumerate",
            "set info",
            "get security",
            "set security",
            "create child",
        ];
        for ((op, allowed), result) in ops.iter().zip(want).zip(&got) {
            match (allowed, result) {
                (true, Ok(_)) => {}
                (false, Err((name, 5))) if name == "ERROR_ACCESS_DENIED" => {}
                _ => panic!(
                    "{}: {op}: expected {}, got {result:?}",
                    row.who,
                    if allowed {
                        "success"
                    } else {
                        "ERROR_ACCESS_DENIED"
                    }
                ),
            }
        }
    }

    // Other uid: a pool with the default descriptor (creator and local system only).
    d.reel_as(
        Some(&owner),
        &["pool", "create", r"\Team\Private", "--json"],
    )
    .ok();
    let other = User::new(3003);
    for args in [
        vec!["pool", "show", r"\Team\Private", "--json"],
        vec!["pool", "list", r"\Team\Private", "--json"],
        vec!["pool", "security", r"\Team\Private", "--json"],
        vec!["pool", "create", r"\Team\Private\X", "--json"],
    ] {
        d.reel_as(Some(&other), &args)
            .failed("ERROR_ACCESS_DENIED", 5);
    }
    // Deleting needs M: the owner has it on \Team\Private, the group member (M on Shared's
    // ACL, but not here) does not.
    d.reel_as(
        Some(&User::in_groups(3002, &[4242])),
        &["pool", "delete", r"\Team\Private", "--json"],
    )
    .failed("ERROR_ACCESS_DENIED", 5);
    d.reel_as(
        Some(&owner),
        &["pool", "delete", r"\Team\Private", "--json"],
    )
    .ok();
    // Identity comes from the socket: the daemon tells each client who it is.
    let who = calls_as(
        &d.socket,
        &User::in_groups(3002, &[4242]),
        &[Call::MediaTypes {}],
    );
    assert!(who[0].is_ok());
}

fn ace(kind: &str, who: &str, rights: &[&str]) -> WireAce {
    serde_json::from_value(json!({"kind": kind, "who": who, "rights": rights})).unwrap()
}
