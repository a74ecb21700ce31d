//! Compressed sizes, as users download modules: gzip -9 and brotli -11.

use std::io::Write;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

impl Sizes {
    pub fn of(bytes: &[u8]) -> Sizes {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(bytes).expect("writing to memory");
        let gzip = gzip.finish().expect("writing to memory").len() as u64;
        let mut brotli = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut brotli, 4096, 11, 22);
            writer.write_all(bytes).expect("writing to memory");
        }
        Sizes { raw: bytes.len() as u64, gzip, brotli: brotli.len() as u64 }
    }
}

/// Files that download one by one: each compressed on its own, summed.
impl<'a> std::iter::Sum<&'a Sizes> for Sizes {
    fn sum<I: Iterator<Item = &'a Sizes>>(sizes: I) -> Sizes {
        sizes.fold(Sizes { raw: 0, gzip: 0, brotli: 0 }, |sum, size| Sizes {
            raw: sum.raw + size.raw,
            gzip: sum.gzip + size.gzip,
            brotli: sum.brotli + size.brotli,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_add_up_field_by_field() {
        let parts = [Sizes { raw: 1, gzip: 2, brotli: 3 }, Sizes { raw: 10, gzip: 20, brotli: 30 }];
        assert_eq!(parts.iter().sum::<Sizes>(), Sizes { raw: 11, gzip: 22, brotli: 33 });
    }

    #[test]
    fn compressed_sizes_are_smaller_for_repetitive_input() {
        let bytes = b"micropython ".repeat(1000);
        let sizes = Sizes::of(&bytes);
        assert_eq!(sizes.raw, 12_000);
        assert!(sizes.gzip < 200 && sizes.brotli < 200, "{sizes:?}");
    }
}
