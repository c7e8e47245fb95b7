//! `CodeAdapter`: the digits on the code pad and its keys.

use std::rc::Weak;

use slint::{ComponentHandle as _, Model as _, ModelRc, SharedString, VecModel};

use super::{Act, CodeAdapter, MainWindow, with};
use crate::controller::{CODE_LEN, Reception};

pub(super) fn apply(ui: &MainWindow, r: &Reception) {
    let g = ui.global::<CodeAdapter<'_>>();
    let code = r.code();
    let slots: Vec<SharedString> = (0..CODE_LEN)
        .map(|i| code.get(i..=i).unwrap_or("").into())
        .collect();
    // Unchanged digits keep the model, so the slots are not rebuilt on every tick.
    if g.get_slots().iter().eq(slots.iter().cloned()) {
        return;
    }
    g.set_count(i32::try_from(code.len()).unwrap_or(0));
    g.set_slots(ModelRc::new(VecModel::from(slots)));
}

pub(super) fn connect<A: Act>(ui: &MainWindow, app: &Weak<A>) {
    let g = ui.global::<CodeAdapter<'_>>();
    let a = app.clone();
    g.on_press_digit(move |d| {
        with(&a, |r| {
            r.code_digit(u8::try_from(d).unwrap_or(u8::MAX));
            None
        });
    });
    let a = app.clone();
    g.on_erase(move || {
        with(&a, |r| {
            r.code_erase();
            None
        });
    });
    let a = app.clone();
    g.on_clear(move || {
        with(&a, |r| {
            r.code_clear();
            None
        });
    });
    let a = app.clone();
    g.on_submit(move || with(&a, Reception::code_submit));
}
