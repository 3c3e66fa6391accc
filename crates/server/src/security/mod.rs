//! Security checks kept apart from the call logic: which in-dialog requests belong to a dialog
//! (`dialog_guard`).

pub mod dialog_guard;
