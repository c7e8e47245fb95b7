//! The decoder on synthetic camera frames (seeded, reproducible): passes held at
//! different distances, tilts, blur and light are read; frames without a code never
//! yield text.

mod support;

use genkan_kiosk::decode::{CascadeDecoder, Decoded, decode_guarded};
use support::frames;

#[test]
fn camera_frames_with_a_pass_are_read_and_empty_frames_give_nothing() {
    let (with_code, without_code) = frames::generate_set(10, frames::TEST_SEED);
    let mut decoder = CascadeDecoder::default();
    let mut read = 0;
    for frame in &with_code {
        let image =
            image::GrayImage::from_raw(frame.width, frame.height, frame.luma.clone()).unwrap();
        match decode_guarded(&mut decoder, &image) {
            Decoded::Text(text) => {
                assert_eq!(
                    Some(&text),
                    frame.text.as_ref(),
                    "a wrong read is worse than none"
                );
                read += 1;
            }
            Decoded::Nothing => {}
            Decoded::Panicked => panic!("a panic escaped a cascade stage"),
        }
    }
    assert!(read >= 9, "only {read} of 10 frames with a pass were read");
    for frame in &without_code {
        let image =
            image::GrayImage::from_raw(frame.width, frame.height, frame.luma.clone()).unwrap();
        assert_eq!(decode_guarded(&mut decoder, &image), Decoded::Nothing);
    }
}
