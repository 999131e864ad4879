//! Compile-time checks of `#[ignite::main]`: accepted signatures compile; wrong ones fail
//! with an error pointing at the offending tokens (snapshots in `tests/ui/*.stderr`;
//! regenerate with `TRYBUILD=overwrite cargo test -p ignite --test ui` and review the diff).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass_*.rs");
    cases.compile_fail("tests/ui/fail_*.rs");
}
