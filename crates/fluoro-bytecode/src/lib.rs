//! CPython 3.10-3.15 bytecode, read without an interpreter: the `marshal` reader for code
//! objects and `.pyc` files, per-version opcode tables, the instruction decoder (what
//! `dis.get_instructions` gives), opcode histograms, the specialization classes of
//! `fluoro dis --adaptive`, and the text and JSON renderers of `fluoro dis`.

pub mod adaptive;
pub mod decode;
pub mod marshal;
pub mod opcodes;
mod render;
pub mod report;
pub mod repr;

pub use decode::{exception_table, instructions, ExceptionEntry, Instruction};
pub use marshal::{load_code, Code, MarshalError, Obj};
pub use opcodes::OpcodeTable;
pub use render::{render_stats, render_text};
pub use report::{disassemble, CodeReport, Histogram, StatsReport};

use std::rc::Rc;

/// Why a `.pyc` file or marshal data could not be disassembled.
#[derive(Debug, thiserror::Error)]
pub enum DisError {
    #[error("not a .pyc file: too short for its 16-byte header")]
    ShortPyc,
    #[error("bad .pyc magic {0}: not CPython 3.10 to 3.15")]
    BadMagic(u16),
    #[error(transparent)]
    Marshal(#[from] MarshalError),
}

/// Reads a `.pyc`: the 16-byte header (magic, flags, then mtime and size or a source hash)
/// and the marshalled module code object; the magic picks the version.
pub fn read_pyc(bytes: &[u8]) -> Result<(&'static OpcodeTable, Rc<Code>), DisError> {
    if bytes.len() < 16 {
        return Err(DisError::ShortPyc);
    }
    let magic = u16::from_le_bytes([bytes[0], bytes[1]]);
    if bytes[2..4] != *b"\r\n" {
        return Err(DisError::BadMagic(magic));
    }
    let table = OpcodeTable::for_magic(magic).ok_or(DisError::BadMagic(magic))?;
    Ok((table, load_code(&bytes[16..], table)?))
}
