//! Unsigned integers as decimal ASCII digits, without `fmt` and without
//! allocating: what the JSON writer's numbers and the collector's
//! `event.id` (`FILE:OFFSET`) are written with.

/// The decimal digits of a `u64` (at most 20), held on the stack.
#[derive(Clone, Copy)]
pub struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    pub fn new(value: u64) -> Decimal {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = value;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        Decimal { digits, start }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("ASCII digits")
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    #[test]
    fn digits_as_display_writes_them() {
        for value in [
            0,
            1,
            9,
            10,
            99,
            100,
            4096,
            65_535,
            1_234_567_890,
            u64::MAX / 10,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(Decimal::new(value).as_str(), value.to_string());
            assert_eq!(Decimal::new(value).as_bytes(), value.to_string().as_bytes());
        }
        for power in 0..20 {
            let value = 10u64.pow(power);
            assert_eq!(Decimal::new(value).as_str(), value.to_string());
            assert_eq!(Decimal::new(value - 1).as_str(), (value - 1).to_string());
        }
    }
}
