//! End-to-end tests: the real `samizdat` binary, real corpora, and python-tuf as the independent
//! TUF client. Each module is one area; helpers are in `util`.

mod util;

mod acme;
mod archives;
mod bad_input;
mod blocks;
mod corpora;
mod crash;
mod deploy;
mod directory;
mod directory_trust;
mod flood;
mod handover;
mod ingest;
mod keys;
mod messages;
mod metalink;
mod mirror;
mod ocr;
mod package;
mod publish;
mod python_tuf;
mod serve;
mod site;
mod trust;
