//! Unit tests of the readers, with small fixtures written into temporary folders.
