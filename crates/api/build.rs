// The sample course is embedded with include_dir!, which cargo does not track:
// rebuild when anything under content/ changes.
fn main() {
    println!("cargo:rerun-if-changed=../../content");
}
