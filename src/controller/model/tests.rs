use super::*;

fn lib() -> LibraryModel {
    let layout = reel_sim::Layout::from_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/layouts/default.toml"),
    )
    .unwrap();
    let sim = reel_sim::SimLibrary::new(layout);
    let mut source = sim.source();
    let inv = crate::discovery::discover(&mut source, &Default::default()).unwrap();
    LibraryModel::from_discovered(&inv.libraries[0], &|_| DeviceNodes::default())
}

fn at(s: &str) -> Location {
    s.parse().unwrap()
}

#[test]
fn built_from_discovery() {
    let m = lib();
    assert_eq!(m.serial, "SIMLIB0001");
    assert_eq!(m.transport, 1);
    assert_eq!(m.slots.len(), 24);
    assert_eq!(m.drives.len(), 2);
    let c = m.cartridge_at(at("slot:1000")).unwrap();
    assert_eq!(c.barcode.as_deref(), Some("ABC001L8"));
    assert_eq!(c.home, Some(1000));
    assert_eq!(m.drives[0].state, DriveState::Dismounted);
    assert_eq!(m.drives[0].serial.as_deref(), Some("SIMDRV0001"));
    assert_eq!(m.find_barcode("ABC003L8"), Some(at("slot:1002")));
}

#[test]
fn moves_update_contents_homes_and_drive_states() {
    let mut m = lib();
    // (from, to, expected outcome)
    let cases: [(&str, &str, Result<(), ModelError>); 5] = [
        ("slot:1000", "drive:500", Ok(())),
        (
            "slot:1001",
            "drive:500",
            Err(ModelError::DestinationFull(at("drive:500"))),
        ),
        (
            "slot:1000",
            "slot:1020",
            Err(ModelError::SourceEmpty(at("slot:1000"))),
        ),
        (
            "slot:9999",
            "slot:1020",
            Err(ModelError::NoElement(at("slot:9999"), "SIMLIB0001".into())),
        ),
        ("drive:500", "slot:1020", Ok(())),
    ];
    for (from, to, want) in cases {
        assert_eq!(m.apply_move(at(from), at(to)), want, "{from} -> {to}");
    }
    let c = m.cartridge_at(at("slot:1020")).unwrap();
    assert_eq!(
        (c.barcode.as_deref(), c.home),
        (Some("ABC001L8"), Some(1000))
    );
    assert_eq!(m.drives[0].state, DriveState::Dismounted);
    assert_eq!(m.lowest_empty_slot(&[]), Some(1000));
    assert_eq!(m.lowest_empty_slot(&[1000]), Some(1012));
    let doc = m.render();
    assert!(!doc.slots[0].full);
    assert_eq!(doc.slots[20].barcode.as_deref(), Some("ABC001L8"));
    assert_eq!(doc.slots[20].source, Some(500));
}

#[test]
fn exchanges_update_contents_and_sources_as_two_moves() {
    let mut m = lib();
    let b = |m: &LibraryModel, l: &str| m.cartridge_at(at(l)).and_then(|c| c.barcode.clone());
    let (b0, b2) = (b(&m, "slot:1000"), b(&m, "slot:1002"));
    // (source, first, second, expected outcome)
    let refused: [(&str, &str, &str, ModelError); 3] = [
        (
            "slot:1020",
            "slot:1000",
            "slot:1020",
            ModelError::SourceEmpty(at("slot:1020")),
        ),
        (
            "slot:1000",
            "slot:1020",
            "slot:1000",
            ModelError::SourceEmpty(at("slot:1020")),
        ),
        (
            "slot:1000",
            "slot:1002",
            "slot:1001",
            ModelError::DestinationFull(at("slot:1001")),
        ),
    ];
    for (s, f, t, e) in refused {
        assert_eq!(m.apply_exchange(at(s), at(f), at(t)), Err(e), "{s} {f} {t}");
    }
    assert_eq!(
        (b(&m, "slot:1000"), b(&m, "slot:1002")),
        (b0.clone(), b2.clone())
    );
    // A swap: each cartridge records where it came from and keeps its home.
    m.apply_exchange(at("slot:1000"), at("slot:1002"), at("slot:1000"))
        .unwrap();
    assert_eq!(
        (b(&m, "slot:1000"), b(&m, "slot:1002")),
        (b2.clone(), b0.clone())
    );
    let doc = m.render();
    assert_eq!(
        (doc.slots[0].source, doc.slots[2].source),
        (Some(1002), Some(1000))
    );
    assert_eq!(m.cartridge_at(at("slot:1002")).unwrap().home, Some(1000));
    // A rotation into a drive and an empty slot.
    m.apply_exchange(at("slot:1000"), at("slot:1002"), at("drive:500"))
        .unwrap();
    assert_eq!(
        (b(&m, "slot:1000"), b(&m, "slot:1002"), b(&m, "drive:500")),
        (None, b2, b0)
    );
    assert_eq!(m.drives[0].source, Some(1002));
    assert_eq!(m.drives[0].state, DriveState::Mounted);
}
