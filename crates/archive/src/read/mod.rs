//! Ingest readers (being written).
