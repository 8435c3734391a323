//! Database tests: pragmas, migrations, one transaction per call, error classes.

use tempfile::TempDir;

use super::*;

fn pool_row(parent: Option<Uuid>, name: &str) -> PoolRow {
    PoolRow {
        id: Uuid::new_v4(),
        parent,
        name: name.into(),
        name_key: name.to_lowercase(),
        description: String::new(),
        pool_type: if parent.is_none() { 0 } else { 1000 },
        media_type: None,
        allocation_policy: 0,
        deallocation_policy: 0,
        max_allocates: 0,
        enabled: true,
        created_ms: 1,
        modified_ms: 1,
        owner_uid: 0,
        security: "{}".into(),
        physical_media: 0,
        logical_media: 0,
    }
}

fn open(dir: &TempDir, config: &DbConfig) -> Store {
    Store::open(&dir.path().join("t.db"), config).unwrap()
}

fn insert_root(store: &Store) -> Uuid {
    let root = pool_row(None, "");
    store.write(|tx| tx.insert_pool(&root)).unwrap();
    root.id
}

#[test]
fn pragmas_are_set() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, &DbConfig::default());
    let inner = store.lock();
    let q = |sql: &str| -> String {
        inner
            .conn
            .query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| match v {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .unwrap()
    };
    let table: [(&str, &str); 4] = [
        ("PRAGMA journal_mode", "wal"),
        ("PRAGMA foreign_keys", "1"),
        ("PRAGMA synchronous", "2"), // FULL
        ("PRAGMA busy_timeout", "5000"),
    ];
    for (sql, want) in table {
        assert_eq!(q(sql), want, "{sql}");
    }
}

#[test]
fn migrations_run_once_and_in_order() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, &DbConfig::default());
    assert_eq!(
        store.schema_version().unwrap() as usize,
        schema::MIGRATIONS.len()
    );
    insert_root(&store);
    drop(store);
    // Reopening keeps the data and the version.
    let store = open(&dir, &DbConfig::default());
    assert_eq!(
        store.schema_version().unwrap() as usize,
        schema::MIGRATIONS.len()
    );
    assert_eq!(store.load().unwrap().pools.len(), 1);
    assert_eq!(store.objects(), 1);
    // A database from a newer reel is refused, not damaged.
    store
        .lock()
        .conn
        .pragma_update(None, "user_version", 99)
        .unwrap();
    drop(store);
    let e = Store::open(&dir.path().join("t.db"), &DbConfig::default()).unwrap_err();
    assert_eq!(e.kind(), DbErrorKind::Failure);
    assert!(e.to_string().contains("newer reel"), "{e}");
}

#[test]
fn every_write_is_all_or_nothing() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, &DbConfig::default());
    let root = insert_root(&store);
    // The closure inserts two pools, then fails: neither is kept, the object count neither.
    let r: Result<(), DbError> = store.write(|tx| {
        tx.insert_pool(&pool_row(Some(root), "a"))?;
        tx.insert_pool(&pool_row(Some(root), "b"))?;
        Err(DbError::failure("caller gave up", None))
    });
    assert!(r.is_err());
    assert_eq!(store.load().unwrap().pools.len(), 1);
    assert_eq!(store.objects(), 1);
    // A constraint failing half-way (duplicate name) also leaves nothing.
    let r = store.write(|tx| {
        tx.insert_pool(&pool_row(Some(root), "c"))?;
        tx.insert_pool(&pool_row(Some(root), "c"))
    });
    assert_eq!(r.unwrap_err().kind(), DbErrorKind::Failure);
    assert_eq!(store.load().unwrap().pools.len(), 1);
    // Foreign keys are enforced: a pool under a missing parent is refused.
    let r = store.write(|tx| tx.insert_pool(&pool_row(Some(Uuid::new_v4()), "orphan")));
    assert_eq!(r.unwrap_err().kind(), DbErrorKind::Failure);
    // And a good write lands.
    store
        .write(|tx| tx.insert_pool(&pool_row(Some(root), "d")))
        .unwrap();
    assert_eq!(store.load().unwrap().pools.len(), 2);
    assert_eq!(store.objects(), 2);
}

#[test]
fn load_orders_parents_first() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, &DbConfig::default());
    let root = insert_root(&store);
    let a = pool_row(Some(root), "a");
    let b = PoolRow {
        created_ms: 0, // older than its parent: the order must still put `a` first
        ..pool_row(Some(a.id), "b")
    };
    store
        .write(|tx| {
            tx.insert_pool(&a)?;
            tx.insert_pool(&b)
        })
        .unwrap();
    let ids: Vec<Uuid> = store.load().unwrap().pools.iter().map(|p| p.id).collect();
    assert_eq!(ids, [root, a.id, b.id]);
}

#[test]
fn error_classes() {
    let dir = TempDir::new().unwrap();
    // max_page_count: SQLITE_FULL → Full.
    let store = open(
        &dir,
        &DbConfig {
            max_page_count: Some(40),
            ..DbConfig::default()
        },
    );
    let root = insert_root(&store);
    let mut n = 0;
    let e = loop {
        let mut p = pool_row(Some(root), &format!("{n}"));
        p.security = "s".repeat(2000);
        match store.write(|tx| tx.insert_pool(&p)) {
            Ok(()) => n += 1,
            Err(e) => break e,
        }
        assert!(n < 1000, "never full");
    };
    assert_eq!(e.kind(), DbErrorKind::Full, "{e}");
    assert_eq!(store.load().unwrap().pools.len(), n + 1);
    drop(store);
    // Object limit → Full, before SQLite is asked.
    let store = open(
        &dir,
        &DbConfig {
            max_objects: Some(n as u64 + 2),
            ..DbConfig::default()
        },
    );
    store
        .write(|tx| tx.insert_pool(&pool_row(Some(root), "last")))
        .unwrap();
    let e = store
        .write(|tx| tx.insert_pool(&pool_row(Some(root), "one more")))
        .unwrap_err();
    assert_eq!(e.kind(), DbErrorKind::Full);
    assert!(e.to_string().contains("limit"), "{e}");
    drop(store);
    // A lock held elsewhere past the busy timeout → Failure.
    let store = open(
        &dir,
        &DbConfig {
            busy_timeout: Duration::from_millis(30),
            ..DbConfig::default()
        },
    );
    let lock = testing::WriteLock::hold(&dir.path().join("t.db")).unwrap();
    let e = store
        .write(|tx| tx.insert_pool(&pool_row(Some(root), "x")))
        .unwrap_err();
    assert_eq!(e.kind(), DbErrorKind::Failure);
    assert!(e.to_string().contains("locked"), "{e}");
    drop(lock);
    store
        .write(|tx| tx.insert_pool(&pool_row(Some(root), "x")))
        .unwrap();
    // Not a database → Failure.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    let e = Store::open(&junk, &DbConfig::default()).unwrap_err();
    assert_eq!(e.kind(), DbErrorKind::Failure);
    assert!(e.to_string().contains("damaged"), "{e}");
}

#[test]
fn libraries_and_media_types() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, &DbConfig::default());
    let t = MediaTypeRow {
        id: Uuid::new_v4(),
        name: "T".into(),
        storage_media_type: 0x56,
        number_of_sides: 1,
        read_write: 1,
        device_type: 0x1F,
    };
    let lib = LibraryRow {
        id: Uuid::new_v4(),
        serial: "S1".into(),
        vendor: "V".into(),
        product: "P".into(),
        revision: "R".into(),
        created_ms: 1,
        modified_ms: 1,
    };
    store
        .write(|tx| {
            tx.upsert_media_type(&t)?;
            tx.upsert_media_type(&t)?;
            assert_eq!(tx.library_by_serial("S1")?, None);
            tx.upsert_library(&lib, true)?;
            assert_eq!(tx.library_by_serial("S1")?, Some(lib.id));
            tx.set_library_media_types(lib.id, &[t.id, t.id])
        })
        .unwrap();
    // An unknown media type in the relation is refused (foreign key), and nothing changes.
    let r = store.write(|tx| tx.set_library_media_types(lib.id, &[Uuid::new_v4()]));
    assert_eq!(r.unwrap_err().kind(), DbErrorKind::Failure);
    let snap = store.load().unwrap();
    assert_eq!(snap.media_types, std::slice::from_ref(&t));
    assert_eq!(snap.libraries, std::slice::from_ref(&lib));
    assert_eq!(snap.library_media_types, [(lib.id, t.id)]);
    assert_eq!(store.objects(), 1);
}

#[test]
fn bare_insert_benchmark_runs() {
    let dir = TempDir::new().unwrap();
    let d = bench::bare_insert_per_transaction(&dir.path().join("b.db"), 5).unwrap();
    assert!(d > Duration::ZERO);
    assert_eq!(
        testing::count_rows(&dir.path().join("b.db"), "bare").unwrap(),
        5
    );
}

#[test]
fn one_store_per_database() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, &DbConfig::default());
    let e = Store::open(&dir.path().join("t.db"), &DbConfig::default()).unwrap_err();
    assert_eq!(e.kind(), DbErrorKind::Failure);
    assert!(e.to_string().contains("in use"), "{e}");
    drop(store);
    open(&dir, &DbConfig::default());
}
