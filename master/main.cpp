// Entry point: everything is a CLI command (start, stop, reload, status, ...).
#include "master/cli.h"

int main(int argc, char** argv) {
    return pusher::master::cli_main(argc, argv);
}
