// Written by the Ignite compile step: the entry point of a function whose handler is in the library.
fn main() {
    ignite_bake::__ignite_main()
}
