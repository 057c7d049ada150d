//! The checked-in completions, man pages and docs/configuration.md match the clap definitions.

use std::path::Path;

#[test]
fn checked_in_generated_files_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let stale = chronik_docgen::stale(&root).expect("compare generated files");
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}; run `cargo run -p chronik-docgen` and commit the result"
    );
}

#[test]
fn a_changed_or_extra_file_is_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    chronik_docgen::write(dir.path()).expect("generate");
    assert!(
        chronik_docgen::stale(dir.path())
            .expect("compare")
            .is_empty()
    );
    let page = dir.path().join("man/chronik-meta.1");
    std::fs::write(&page, "old\n").expect("overwrite");
    std::fs::write(dir.path().join("completions/chronik-gone.bash"), "").expect("extra");
    std::fs::remove_file(dir.path().join("docs/configuration.md")).expect("remove");
    let stale = chronik_docgen::stale(dir.path()).expect("compare");
    let names: Vec<String> = stale.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(
        names,
        [
            "completions/chronik-gone.bash",
            "docs/configuration.md",
            "man/chronik-meta.1"
        ]
    );
}

#[test]
fn every_binary_has_completions_and_a_page_with_its_subcommands() {
    let files = chronik_docgen::generate().expect("generate");
    for name in ["chronik-broker", "chronik-meta", "chronik-walctl"] {
        for file in [
            format!("{name}.bash"),
            format!("_{name}"),
            format!("{name}.fish"),
        ] {
            assert!(
                files.contains_key(&Path::new("completions").join(&file)),
                "{file}"
            );
        }
        assert!(
            files.contains_key(&Path::new("man").join(format!("{name}.1"))),
            "{name}.1"
        );
    }
    let page = String::from_utf8_lossy(&files[Path::new("man/chronik-meta.1")]).into_owned();
    for section in [
        "CHRONIK-META RUN",
        "CHRONIK-META CONFIG SHOW",
        "CHRONIK-META TOPICS CREATE",
    ] {
        assert!(
            page.contains(section),
            "{section} missing from chronik-meta.1"
        );
    }
    let config = String::from_utf8_lossy(&files[Path::new("docs/configuration.md")]).into_owned();
    for row in [
        "| `fsync` | `CHRONIK_FSYNC` | `always` |",
        "| `peers` | `CHRONIK_PEERS` |",
    ] {
        assert!(config.contains(row), "{row} missing from configuration.md");
    }
}
