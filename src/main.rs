fn main() {
    std::process::exit(rsentinel::cli::main());
}
