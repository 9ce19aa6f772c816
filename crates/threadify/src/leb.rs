//! Minimal unsigned LEB128 helpers for keeping the code section's count prefix the same
//! width, so every original function body stays at the same code-section offset.

/// Reads an unsigned LEB128 u32 from the front of `bytes`: `(value, width in bytes)`.
pub fn read_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(5) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

/// Appends `value` as LEB128 padded to exactly `width` bytes; `false` (nothing written) if
/// it does not fit in that width.
pub fn write_u32_padded(value: u32, width: usize, out: &mut Vec<u8>) -> bool {
    if width == 0 || width > 5 || (width < 5 && u64::from(value) >= 1u64 << (7 * width)) {
        return false;
    }
    for i in 0..width {
        let byte = ((value >> (7 * i)) & 0x7f) as u8;
        out.push(if i + 1 < width { byte | 0x80 } else { byte });
    }
    true
}

/// Appends `value` as minimal LEB128.
pub fn write_u32(mut value: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_padded_and_minimal() {
        for value in [0u32, 1, 127, 128, 300, 16383, 16384, u32::MAX] {
            let mut min = Vec::new();
            write_u32(value, &mut min);
            assert_eq!(read_u32(&min), Some((value, min.len())));
            let mut padded = Vec::new();
            assert!(write_u32_padded(value, 5, &mut padded));
            assert_eq!(read_u32(&padded), Some((value, 5)));
        }
        let mut out = Vec::new();
        assert!(write_u32_padded(5, 2, &mut out));
        assert_eq!(out, [0x85, 0x00]);
    }

    #[test]
    fn refuses_values_too_wide() {
        let mut out = Vec::new();
        assert!(!write_u32_padded(128, 1, &mut out));
        assert!(!write_u32_padded(16384, 2, &mut out));
        assert!(out.is_empty());
        assert_eq!(read_u32(&[0x80, 0x80]), None);
    }
}
