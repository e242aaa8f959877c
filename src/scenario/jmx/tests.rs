//! Unit tests of the import on the fixtures in `tests/fixtures/jmx/`.
