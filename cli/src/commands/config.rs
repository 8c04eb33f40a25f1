//! `asklake config show`.

use std::process::ExitCode;

use crate::args::{ConfigAction, GlobalArgs};

pub fn run(g: &GlobalArgs, action: ConfigAction) -> asklake::Result<ExitCode> {
    match action {
        ConfigAction::Show => {
            let resolved = g.resolve()?;
            crate::output::print(resolved.show().trim_end());
        }
    }
    Ok(ExitCode::SUCCESS)
}
