fn main() {
    eprintln!("rsentinel: the command line is being built (issue 2)");
    std::process::exit(1);
}
