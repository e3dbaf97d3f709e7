pub mod catalogue;
pub mod imports;
pub mod orders;
pub mod system;
