//! The differential fuzzer's oracles can fail: generated cases reach the
//! behaviour they are meant to check, and a transcript that differs from
//! the expected one is caught.

use arbitrary::Unstructured;
use meld_fuzz::lifecycle::{Event, Op, Program, matches, run};
use meld_fuzz::{bytes_for, engine};

/// Lifecycle programs run unfused as their expectation says, destructors
/// included, and a transcript with one rep changed no longer matches.
#[test]
fn lifecycle_transcripts_are_checked() {
    let engine = engine();
    let (mut dropped, mut trapped, mut lists) = (0, 0, 0);
    for case in 0..40 {
        let data = bytes_for(7, case, 4096);
        let program = Program::generate(&mut Unstructured::new(&data)).unwrap();
        let bytes = wat::parse_str(program.wat()).unwrap();
        let seen = run(&engine, &bytes).unwrap();
        let expected = program.expected();
        assert!(matches(&expected, &seen), "case {case}: {seen:?}");
        dropped += seen
            .0
            .iter()
            .filter(|e| matches!(e, Event::Dropped(..)))
            .count();
        trapped += usize::from(seen.1);
        lists += program
            .ops
            .iter()
            .filter(|op| matches!(op, Op::TakeList { slots, .. } if slots.len() > 1))
            .count();
        if let Some(i) = seen.0.iter().position(|e| matches!(e, Event::Rep(_))) {
            let mut wrong = seen.clone();
            if let Event::Rep(r) = &mut wrong.0[i] {
                *r ^= 1;
            }
            assert!(!matches(&expected, &wrong));
        }
        let mut cut = seen.clone();
        cut.1 = !cut.1;
        assert!(!matches(&expected, &cut));
    }
    assert!(dropped > 20, "{dropped} destructor calls");
    assert!(trapped > 0, "no misuse trapped");
    assert!(lists > 0, "no list of several handles");
}

/// A generated case that fuses and runs the same is reported as such, and
/// most cases are whole (not skipped for want of bytes).
#[test]
fn differential_cases_agree() {
    let engine = engine();
    let mut same = 0;
    for case in 0..30 {
        let (_, verdict) = meld_fuzz::differential(&engine, &bytes_for(3, case, 4096));
        match verdict {
            meld_fuzz::Verdict::Same(_) => same += 1,
            meld_fuzz::Verdict::Skipped => {}
            other => panic!("case {case}: {other}"),
        }
    }
    assert!(same >= 25, "{same} of 30 cases ran");
}
