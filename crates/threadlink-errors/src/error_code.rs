//! The [`ErrorCode`] enum and its conversions.

use core::fmt;

/// A `wasm_threadlink` error code, as passed across the host/guest boundary as an `i32`/`u32`.
///
/// The discriminants are the ABI: never renumber them.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// No error.
    NoError = 0,
    /// The thread id does not name a thread.
    ThreadNotFound = 1,
    /// Joining the thread failed (e.g. it trapped).
    JoinFailure = 2,
    /// A failure inside the thread's runtime context.
    RuntimeContextFailure = 3,
    /// An out-of-bounds memory access.
    OutOfBoundsMemoryAccess = 4,
    /// The pointer where the thread id should be written could not be converted.
    TidPointerConversion = 5,
    /// The lock guarding thread management was poisoned.
    ThreadManagementLockPoisoned = 6,
    /// The thread was joined but left no result.
    NoResultAfterJoin = 7,
    /// The thread was joined but its result is still referenced elsewhere.
    SeveralResultReferences = 8,
}

/// A `u32` that is not one of the [`ErrorCode`] discriminants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnknownErrorCode(pub u32);

impl fmt::Display for UnknownErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown wasm_threadlink error code {}", self.0)
    }
}

impl core::error::Error for UnknownErrorCode {}

impl ErrorCode {
    /// Every code, in numeric order (index == code).
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::NoError,
        ErrorCode::ThreadNotFound,
        ErrorCode::JoinFailure,
        ErrorCode::RuntimeContextFailure,
        ErrorCode::OutOfBoundsMemoryAccess,
        ErrorCode::TidPointerConversion,
        ErrorCode::ThreadManagementLockPoisoned,
        ErrorCode::NoResultAfterJoin,
        ErrorCode::SeveralResultReferences,
    ];

    /// The numeric code as it crosses the ABI.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The code for `code`, or `None` if it is not a known code.
    pub const fn from_code(code: u32) -> Option<ErrorCode> {
        if (code as usize) < Self::ALL.len() {
            Some(Self::ALL[code as usize])
        } else {
            None
        }
    }

    /// Whether this is [`ErrorCode::NoError`].
    pub const fn is_ok(self) -> bool {
        matches!(self, ErrorCode::NoError)
    }

    /// `Ok(())` for [`ErrorCode::NoError`], `Err(self)` otherwise; handy for host-call results.
    pub const fn into_result(self) -> Result<(), ErrorCode> {
        match self {
            ErrorCode::NoError => Ok(()),
            other => Err(other),
        }
    }

    /// A one-line, human-readable description, printed by the runtime on `panic`.
    pub const fn description(self) -> &'static str {
        match self {
            ErrorCode::NoError => "no error",
            ErrorCode::ThreadNotFound => "thread not found",
            ErrorCode::JoinFailure => "failed to join the thread",
            ErrorCode::RuntimeContextFailure => "failure inside the thread's runtime context",
            ErrorCode::OutOfBoundsMemoryAccess => "out-of-bounds memory access",
            ErrorCode::TidPointerConversion => "failed to convert the thread id pointer",
            ErrorCode::ThreadManagementLockPoisoned => "the thread-management lock is poisoned",
            ErrorCode::NoResultAfterJoin => "the joined thread left no result",
            ErrorCode::SeveralResultReferences => {
                "the joined thread's result is still referenced elsewhere"
            }
        }
    }
}

impl TryFrom<u32> for ErrorCode {
    type Error = UnknownErrorCode;

    fn try_from(code: u32) -> Result<Self, Self::Error> {
        ErrorCode::from_code(code).ok_or(UnknownErrorCode(code))
    }
}

impl TryFrom<i32> for ErrorCode {
    type Error = UnknownErrorCode;

    /// Wasm passes codes as `i32`; negative values are never valid codes.
    fn try_from(code: i32) -> Result<Self, Self::Error> {
        ErrorCode::try_from(code as u32)
    }
}

impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> u32 {
        code.code()
    }
}

impl From<ErrorCode> for i32 {
    fn from(code: ErrorCode) -> i32 {
        code.code() as i32
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (error code {})", self.description(), self.code())
    }
}

impl core::error::Error for ErrorCode {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::HashSet;
    use std::string::ToString;

    #[test]
    fn codes_match_the_abi_table() {
        let expected = [
            (0, ErrorCode::NoError),
            (1, ErrorCode::ThreadNotFound),
            (2, ErrorCode::JoinFailure),
            (3, ErrorCode::RuntimeContextFailure),
            (4, ErrorCode::OutOfBoundsMemoryAccess),
            (5, ErrorCode::TidPointerConversion),
            (6, ErrorCode::ThreadManagementLockPoisoned),
            (7, ErrorCode::NoResultAfterJoin),
            (8, ErrorCode::SeveralResultReferences),
        ];
        for (n, code) in expected {
            assert_eq!(code as u32, n);
            assert_eq!(code.code(), n);
            assert_eq!(ErrorCode::from_code(n), Some(code));
            assert_eq!(ErrorCode::try_from(n), Ok(code));
            assert_eq!(ErrorCode::try_from(n as i32), Ok(code));
            assert_eq!(u32::from(code), n);
        }
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(code.code() as usize, i);
        }
    }

    #[test]
    fn unknown_codes_are_rejected() {
        assert_eq!(ErrorCode::from_code(9), None);
        assert_eq!(ErrorCode::try_from(9u32), Err(UnknownErrorCode(9)));
        assert_eq!(
            ErrorCode::try_from(u32::MAX),
            Err(UnknownErrorCode(u32::MAX))
        );
        assert_eq!(ErrorCode::try_from(-1i32), Err(UnknownErrorCode(u32::MAX)));
        assert_eq!(
            UnknownErrorCode(42).to_string(),
            "unknown wasm_threadlink error code 42"
        );
    }

    #[test]
    fn descriptions_are_distinct_and_displayed() {
        let descriptions: HashSet<_> = ErrorCode::ALL.iter().map(|c| c.description()).collect();
        assert_eq!(descriptions.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::ThreadNotFound.description(), "thread not found");
        assert_eq!(
            ErrorCode::OutOfBoundsMemoryAccess.to_string(),
            "out-of-bounds memory access (error code 4)"
        );
    }

    #[test]
    fn result_conversion() {
        assert!(ErrorCode::NoError.is_ok());
        assert_eq!(ErrorCode::NoError.into_result(), Ok(()));
        assert_eq!(
            ErrorCode::JoinFailure.into_result(),
            Err(ErrorCode::JoinFailure)
        );
        assert!(!ErrorCode::JoinFailure.is_ok());
    }
}
