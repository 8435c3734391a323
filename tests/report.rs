//! `reel discover`'s human report as a person reads it: one line per element on request,
//! drive lists folded into ranges, and the NOTES a person should act on.

use crate::util::{discover_sim, sim_layout};

#[test]
fn all_prints_one_line_per_element_so_grep_finds_a_cartridge() {
    let folded = discover_sim(&sim_layout("default"), &[]);
    folded.expect_code(0);
    assert!(!folded.stdout.contains("ABC005L8"), "{}", folded.stdout);
    let all = discover_sim(&sim_layout("default"), &["--all"]);
    all.expect_code(0);
    let lines: Vec<&str> = all
        .stdout
        .lines()
        .filter(|l| l.contains("ABC005L8"))
        .collect();
    assert_eq!(lines, vec!["  1004     ABC005L8 LTO-8"]);
    // Every slot and the one mailslot, each on its line.
    let slots = all
        .stdout
        .split("Slots (24 slots, 13 full)\n")
        .nth(1)
        .unwrap();
    let slot_lines: Vec<&str> = slots
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(slot_lines.len(), 24, "{slots}");
    assert_eq!(slot_lines[23], "  1023     CLN001CU LTO-CLEANING");
    assert_eq!(slot_lines[12].trim_end(), "  1012     empty");
}

#[test]
fn large_libraries_fold_drive_lists_into_ranges() {
    let run = discover_sim(&sim_layout("large"), &[]);
    run.expect_code(0);
    for line in [
        "  LTO-8       20000       500-627  500-627     e22e25b8-ca53-5059-9dc3-ff24eb8dec8e",
        "  LTO-9       20000       532-627  532-627     d6b4be7c-f164-54fa-9699-31837bada029",
    ] {
        assert!(
            run.stdout.lines().any(|l| l == line),
            "no `{line}` in the report"
        );
    }
    let widest = run.stdout.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest < 120, "a {widest}-character line");
}

#[test]
fn notes_name_cartridges_no_drive_can_read() {
    let run = discover_sim(&sim_layout("mixed"), &[]);
    run.expect_code(0);
    let notes = run
        .stdout
        .split("\nNOTES\n")
        .nth(1)
        .expect("a NOTES section");
    assert_eq!(
        notes,
        "  2 LTO-M8 cartridges that no drive here can read: MX0001M8, MX0002M8\n"
    );
    // A library whose drives read everything it holds has no NOTES.
    let plain = discover_sim(&sim_layout("default"), &[]);
    assert!(!plain.stdout.contains("\nNOTES\n"), "{}", plain.stdout);
}
