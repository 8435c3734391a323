//! The simulator's PREVENT MEDIUM REMOVAL through `reel-sim serve`'s socket holds exactly as
//! in-process: `reel lock` exits, the door stays shut until `reel unlock`.

use crate::util::{reel, serve_sim, sim_layout, tempdir};

#[test]
fn reel_lock_through_the_socket_keeps_the_operator_out_until_unlock() {
    let dir = tempdir();
    let (sock, library) = serve_sim(&sim_layout("default"), dir.path());
    let sock = sock.to_str().unwrap();
    library
        .insert("OPR001L8", Some(10))
        .expect("the operator inserts");

    reel(&["lock", "--sim-socket", sock]).expect_code(0);
    // The command's connection is closed; the lock is not.
    assert!(library.status().removal_prevented);
    let refused = library.remove(10).expect_err("removal while locked");
    assert!(
        refused.to_string().contains("PREVENT MEDIUM REMOVAL"),
        "{refused}"
    );
    // A second client's discovery does not release it either.
    reel(&["discover", "--sim-socket", sock]).expect_code(0);
    assert!(library.status().removal_prevented);

    reel(&["unlock", "--sim-socket", sock]).expect_code(0);
    assert!(!library.status().removal_prevented);
    assert_eq!(
        library.remove(10).expect("removal after unlock").as_str(),
        "OPR001L8"
    );
}
