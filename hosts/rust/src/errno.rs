//! What a bare error number means in this sandbox.
//!
//! Errno 76, ENOTCAPABLE, is how WASI says that the sandbox grants no access
//! to a path: opening `/etc/passwd` without a folder that holds it prints
//! `OSError: [Errno 76] ENOTCAPABLE` (a bare `OSError: 76` from a build whose
//! errno table lacks the name), which says nothing of folders. The crate
//! adds the explanation where it can: to the `Display` of the exception, and
//! as a note after such a line on a streamed stderr.

/// The explanation of errno 76.
pub(crate) const NOT_CAPABLE: &str =
    "errno 76 is WASI's ENOTCAPABLE: the path is outside the folders granted to the sandbox";

/// The explanation for an exception of type `type_name` whose `str()` is
/// `message`, if it is a capability denial.
pub(crate) fn explain(type_name: &str, message: &str) -> Option<&'static str> {
    let denied = message == "76" || message.starts_with("[Errno 76]");
    (type_name == "OSError" && denied).then_some(NOT_CAPABLE)
}

/// The explanation for the last line of a traceback (`OSError: 76`), if it
/// reports a capability denial.
pub(crate) fn explain_line(line: &str) -> Option<&'static str> {
    let (type_name, message) = line.trim_end().split_once(": ")?;
    explain(type_name, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_errno_76_of_an_os_error_is_explained() {
        assert_eq!(explain_line("OSError: 76\n"), Some(NOT_CAPABLE));
        assert_eq!(explain_line("OSError: [Errno 76] ENOTCAPABLE"), Some(NOT_CAPABLE));
        assert_eq!(explain_line("OSError: [Errno 44] ENOENT"), None);
        assert_eq!(explain_line("ValueError: 76"), None);
        assert_eq!(explain_line("OSError: 763"), None);
        assert_eq!(explain_line("76"), None);
    }
}
