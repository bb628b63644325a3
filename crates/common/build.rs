// Migrations are embedded with sqlx::migrate!, which cargo does not track:
// rebuild when a migration is added or changed.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
