//! `reel pool update` through the daemon's socket (SetNtmsObjectInformation for a pool).

use crate::util::daemon::{Daemon, User};

/// Flags of one `pool update`, and fields of the pool afterwards.
type Step<'a> = (&'a [&'a str], &'a [(&'a str, serde_json::Value)]);

#[test]
fn pool_update_changes_each_field_and_keeps_the_others() {
    let d = Daemon::start();
    d.reel(&["pool", "create", r"\App"]).expect_code(0);
    d.reel(&[
        "pool",
        "create",
        r"\App\Daily",
        "--media-type",
        "LTO-8",
        "--allow",
        "everyone:use",
    ])
    .expect_code(0);
    // flags -> the fields of `pool show --json` after the update.
    let steps: [Step; 6] = [
        (
            &["--description", "daily backups"],
            &[
                ("description", "daily backups".into()),
                ("media_type", "LTO-8".into()),
            ],
        ),
        (
            &["--max-allocates", "12"],
            &[
                ("max_allocates", 12.into()),
                ("description", "daily backups".into()),
            ],
        ),
        (
            &["--allocation-policy", "from-scratch"],
            &[
                ("allocation_policy", 1.into()),
                ("max_allocates", 12.into()),
            ],
        ),
        (
            &["--deallocation-policy", "to-scratch"],
            &[
                ("deallocation_policy", 1.into()),
                ("allocation_policy", 1.into()),
            ],
        ),
        (
            &["--media-type", "LTO-7"],
            &[("media_type", "LTO-7".into())],
        ),
        (
            &[
                "--allocation-policy",
                "pool-only",
                "--deallocation-policy",
                "stay-in-pool",
            ],
            &[
                ("allocation_policy", 0.into()),
                ("deallocation_policy", 0.into()),
            ],
        ),
    ];
    for (flags, want) in steps {
        let mut args = vec!["--json", "pool", "update", r"\App\Daily"];
        args.extend_from_slice(flags);
        let doc = d.reel(&args).ok();
        let shown = d.reel(&["--json", "pool", "show", r"\App\Daily"]).ok();
        for (k, v) in want {
            assert_eq!(&doc["pool"][*k], v, "{flags:?}: {k} in the update's reply");
            assert_eq!(&shown["pool"][*k], v, "{flags:?}: {k} in pool show");
        }
    }
    // Rename: the pool keeps its id and parent, under its new name.
    let before = d.reel(&["--json", "pool", "show", r"\App\Daily"]).ok();
    let doc = d
        .reel(&[
            "--json",
            "pool",
            "update",
            r"\App\Daily",
            "--rename",
            "Nightly",
        ])
        .ok();
    assert_eq!(doc["pool"]["name"], r"\App\Nightly");
    assert_eq!(doc["pool"]["id"], before["pool"]["id"]);
    d.reel(&["--json", "pool", "show", r"\App\Daily"])
        .failed("ERROR_OBJECT_NOT_FOUND", 4312);
    // Human output says what the pool now is.
    let run = d.reel(&["pool", "update", r"\App\Nightly", "--max-allocates", "0"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "updated pool \\App\\Nightly ({}): media type LTO-7, allocates from the pool only, \
             deallocated media stay, max allocates unlimited, description \"daily backups\"\n",
            before["pool"]["id"].as_str().unwrap()
        )
    );
}

#[test]
fn pool_update_refusals_are_the_daemons_and_clear() {
    let d = Daemon::start();
    d.reel(&["pool", "create", r"\App"]).expect_code(0);
    d.reel(&[
        "pool",
        "create",
        r"\App\P",
        "--media-type",
        "LTO-8",
        "--allow",
        "everyone:use",
    ])
    .expect_code(0);
    d.reel(&["pool", "create", r"\App\Q", "--media-type", "LTO-8"])
        .expect_code(0);
    // A user with USE only may not modify (rsm-media-pools: SetNtmsObjectInformation needs MODIFY).
    let user = User::new(64_001);
    d.reel_as(
        Some(&user),
        &["--json", "pool", "update", r"\App\P", "--description", "x"],
    )
    .failed("ERROR_ACCESS_DENIED", 5);
    // A name taken by a sibling.
    d.reel(&["--json", "pool", "update", r"\App\P", "--rename", "Q"])
        .failed("ERROR_ALREADY_EXISTS", 183);
    // A pool that holds pools cannot get a media type.
    d.reel(&["pool", "update", r"\App", "--media-type", "LTO-8"])
        .expect_code(1);
    // An unknown media type is refused before any call.
    let run = d.reel(&["pool", "update", r"\App\P", "--media-type", "LTO-11"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .starts_with("error: ERROR_INVALID_MEDIA (4300): LTO-11 is not a media type"),
        "{}",
        run.stderr
    );
    // Nothing changed.
    let shown = d.reel(&["--json", "pool", "show", r"\App\P"]).ok();
    assert_eq!(shown["pool"]["description"], "");
    assert_eq!(shown["pool"]["name"], r"\App\P");
}
