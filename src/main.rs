use std::process::ExitCode;

fn main() -> ExitCode {
    huber::run_command_line()
}
