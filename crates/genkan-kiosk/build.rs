//! Compiles the kiosk's `.slint` files with the ja/en translations bundled into the binary.

fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .with_style("fluent".into())
        .with_bundled_translations("../../kiosk-ui/lang")
        // Texts are translated by their English wording alone, whichever view they are
        // in: one entry per sentence in the `.po` files.
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    slint_build::compile_with_config("../../kiosk-ui/main.slint", config)
        .unwrap_or_else(|e| panic!("compiling kiosk-ui/main.slint: {e}"));
}
