pub mod admin;
pub mod dev;
pub mod email;
pub mod jwt;
pub mod session;
pub mod user;
