//! Integration tests of the technician's commands and tgt's flaws, against the simulator:
//! `reel discover` with a cut last drive identifier, `reel lock` / `reel unlock`.

use serde_json::Value;

use crate::util::{quirk_layout, reel};

#[test]
fn a_cut_last_drive_identifier_still_matches_its_drive_with_a_warning() {
    let l = quirk_layout("tgt-truncated");
    let run = reel(&[
        "discover".as_ref(),
        "--sim".as_ref(),
        l.as_os_str(),
        "--json".as_ref(),
    ]);
    run.expect_code(0);
    let doc = run.json();
    let drives = &doc["libraries"][0]["drives"];
    // (element, serial)
    for (i, (address, serial)) in [
        (500, "QTGT-TRUNCATED-DVCID-DRIVE-00001"),
        (501, "QTGT-TRUNCATED-DVCID-DRIVE-00002"),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(drives[i]["address"], address, "{doc}");
        assert_eq!(drives[i]["device"]["serial"], serial, "{doc}");
    }
    assert_eq!(doc["unmatched_drives"], Value::Array(vec![]));
    // The 8 lost bytes leave 24 of the last serial's 32 characters.
    let note = "warning: sim:changer: drive element 501: the changer cut its device identifier \
                short (received serial \"QTGT-TRUNCATED-DVCID-DRI\"); matched to drive \
                QTGT-TRUNCATED-DVCID-DRIVE-00002, the only drive not claimed by a whole \
                identifier whose serial starts with it";
    assert!(run.stderr.contains(note), "{}", run.stderr);
    assert!(
        !run.stderr.contains("no drive device found"),
        "{}",
        run.stderr
    );
}
