//! Integration tests: the real server, in-process, over HTTP, on SQLite and PostgreSQL.
//! One test binary keeps link time down; each domain has its own module.

mod support;

mod foundation;
