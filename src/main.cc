// platops: one binary for the server and its command-line client.

#include "cli/cli.h"

int main(int argc, char** argv) { return platops::cli::Main(argc, argv); }
