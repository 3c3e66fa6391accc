//! The document format version and the decoder that checks it before parsing.

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The document format this crate writes for whole documents. Raised only for changes an older
/// reader would misread; added fields and enum words do not raise it.
pub const SCHEMA: u32 = 1;

/// The format of a directory delta or part (`base`, `part`): a schema-1 reader would take it for
/// the whole state, so it refuses it instead ("update").
pub const DELTA_SCHEMA: u32 = 2;

/// The newest format this crate reads.
pub const READS: u32 = DELTA_SCHEMA;

/// The schema of a document that does not say (servers from before the field): 1.
pub(crate) fn first() -> u32 {
    1
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Written in a newer format than this reader knows.
    #[error("the document's format {found} is newer than this program's ({READS}): update it")]
    TooNew {
        /// The document's `schema`.
        found: u32,
    },
    /// Not the expected JSON.
    #[error("not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

#[derive(Deserialize)]
struct Peek {
    #[serde(default = "first")]
    schema: u32,
}

/// Parse a document (directory or room state), refusing one of a newer schema first: its other
/// fields may not mean what this reader thinks.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    let peek: Peek = serde_json::from_slice(body)?;
    if peek.schema > READS {
        return Err(DecodeError::TooNew { found: peek.schema });
    }
    Ok(serde_json::from_slice(body)?)
}
