//! Socket.IO packets and parsers.

pub mod packet;
pub mod parser;

pub use parser::Parser;
