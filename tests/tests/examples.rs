//! The bundled example compositions, fused and run side by side.

use meld_tests::*;

#[test]
fn fused_examples_behave_like_their_inputs() {
    for (name, input) in examples() {
        let fused = meld::fuse(&input).unwrap_or_else(|d| panic!("{name}: {d:?}"));
        let before = run_command(&input).unwrap();
        let after = run_command(&fused).unwrap();
        assert!(!before.trapped, "{name}: the input itself traps: {}", String::from_utf8_lossy(&before.stderr));
        assert!(!before.stdout.is_empty(), "{name}: the input prints nothing");
        assert_eq!(
            String::from_utf8_lossy(&before.stdout),
            String::from_utf8_lossy(&after.stdout),
            "{name}: stdout differs"
        );
        assert_eq!(before, after, "{name}: observable behaviour differs");
    }
}
