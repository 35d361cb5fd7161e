//! The component glue: exports `meld:fuser/fuser` (see `wit/fuser.wit`) over
//! [`crate::fuse`]. The only place that knows about wit-bindgen.

wit_bindgen::generate!({
    path: "../wit",
    world: "meld",
});

use exports::meld::fuser::fuser as wit;

struct Component;

impl wit::Guest for Component {
    fn fuse(input: Vec<u8>) -> Result<Vec<u8>, Vec<wit::Diagnostic>> {
        crate::fuse(&input).map_err(|ds| ds.into_iter().map(to_wit).collect())
    }
}

fn to_wit(d: crate::Diagnostic) -> wit::Diagnostic {
    wit::Diagnostic {
        severity: match d.severity {
            crate::Severity::Error => wit::Severity::Error,
            crate::Severity::Warning => wit::Severity::Warning,
            crate::Severity::Note => wit::Severity::Note,
        },
        code: d.code.as_str().to_string(),
        message: d.message,
        offset: d.offset,
        notes: d.notes,
    }
}

export!(Component);
