//! Integration tests: the real server, in-process, over HTTP, on SQLite and PostgreSQL.
//! One test binary keeps link time down; each domain has its own module.

mod support;

mod api_admin;
mod api_authoring;
mod api_current_state;
mod api_jwks;
mod api_learning;
mod architecture;
mod auth_account;
mod auth_admin;
mod auth_email;
mod auth_impersonation;
mod auth_jwt;
mod auth_lockout;
mod auth_mail;
mod auth_oidc;
mod auth_passkeys;
mod auth_recovery;
mod auth_security;
mod auth_sessions;
mod auth_social;
mod auth_social_oidc;
mod auth_timing;
mod auth_two_factor;
mod chat;
mod chat_limits;
mod eval;
mod exercises;
mod foundation;
mod input_refusals;
mod migration;
mod redirect_targets;
mod teaching;
mod tutor;
mod tutor_burst;
mod tutor_dense;
mod tutor_experience;
mod tutor_guard;
mod tutor_index;
mod tutor_llm;
mod tutor_streams;
mod web_pages;
