//! `ProblemAdapter`: which problem the error screen explains, and its buttons.

use std::rc::Weak;

use slint::ComponentHandle as _;

use super::{Act, MainWindow, Problem as UiProblem, ProblemAdapter, with};
use crate::controller::{Problem, Reception};

pub(super) fn apply(ui: &MainWindow, r: &Reception) {
    let g = ui.global::<ProblemAdapter<'_>>();
    if let Some(problem) = r.problem() {
        g.set_problem(match problem {
            Problem::NotToday => UiProblem::NotToday,
            Problem::Expired => UiProblem::Expired,
            Problem::Cancelled => UiProblem::Cancelled,
            Problem::OtherSite => UiProblem::OtherSite,
            Problem::AlreadyInside => UiProblem::AlreadyInside,
            Problem::NotInside => UiProblem::NotInside,
            Problem::Unknown => UiProblem::Unknown,
            Problem::KioskRevoked => UiProblem::KioskRevoked,
            Problem::TooManyAttempts => UiProblem::TooManyAttempts,
            Problem::TooManyWalkIns => UiProblem::TooManyWalkIns,
            Problem::CodeNeedsConnection => UiProblem::CodeNeedsConnection,
            Problem::Unreachable => UiProblem::Unreachable,
            Problem::ServerError => UiProblem::ServerError,
        });
        g.set_offers_code_entry(problem.offers_code_entry());
    }
    g.set_can_retry(r.can_retry());
}

pub(super) fn connect<A: Act>(ui: &MainWindow, app: &Weak<A>) {
    let g = ui.global::<ProblemAdapter<'_>>();
    let a = app.clone();
    g.on_retry(move || with(&a, Reception::retry));
    let a = app.clone();
    g.on_enter_code(move || {
        with(&a, |r| {
            r.open_code_entry();
            None
        });
    });
}
