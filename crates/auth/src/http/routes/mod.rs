pub mod admin;
pub mod dev;
pub mod email;
pub mod jwt;
pub mod recovery;
pub mod session;
pub mod social;
pub mod user;
