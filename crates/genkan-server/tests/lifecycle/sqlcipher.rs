//! Reads the plaintext of SQLCipher 4 files page by page with the database key
//! (AES-256-CBC, the IV stored in each page's reserved tail), so tests can look for
//! personal data in free pages and old WAL frames, not only in rows.

use aes::cipher::{BlockCipherDecrypt as _, KeyInit as _};

/// SQLCipher 4's default page size.
const PAGE: usize = 4096;
/// Reserved bytes at the end of each page: IV (16) and HMAC-SHA512 (64).
const RESERVE: usize = 80;

/// Decrypts one page in place-ish: returns the plaintext of its encrypted part.
fn page_plaintext(cipher: &aes::Aes256, page: &[u8], first: bool) -> Vec<u8> {
    let start = if first { 16 } else { 0 };
    let body = &page[start..PAGE - RESERVE];
    let iv = &page[PAGE - RESERVE..PAGE - RESERVE + 16];
    let mut prev: Vec<u8> = iv.to_vec();
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let mut block = aes::Block::try_from(chunk).unwrap();
        cipher.decrypt_block(&mut block);
        out.extend(block.iter().zip(&prev).map(|(b, p)| b ^ p));
        prev = chunk.to_vec();
    }
    out
}

/// The plaintext of every page of a database file.
pub(crate) fn database(key: &[u8; 32], bytes: &[u8]) -> Vec<u8> {
    let cipher = aes::Aes256::new_from_slice(key).unwrap();
    bytes
        .chunks_exact(PAGE)
        .enumerate()
        .flat_map(|(i, page)| page_plaintext(&cipher, page, i == 0))
        .collect()
}

/// The plaintext of every frame of a WAL file (32-byte header, 24-byte frame headers).
pub(crate) fn wal(key: &[u8; 32], bytes: &[u8]) -> Vec<u8> {
    if bytes.len() < 32 {
        return Vec::new();
    }
    let cipher = aes::Aes256::new_from_slice(key).unwrap();
    bytes[32..]
        .chunks_exact(24 + PAGE)
        .flat_map(|frame| {
            let page_no = u32::from_be_bytes(frame[..4].try_into().unwrap());
            page_plaintext(&cipher, &frame[24..], page_no == 1)
        })
        .collect()
}

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
