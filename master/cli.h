// The command line, with Workerman 5.x semantics: the first word that is a
// command and the first mode (-d, -g) count, in any order; `-c FILE` picks the
// config. Every failure prints one line on stderr and exits non-zero.
#pragma once

namespace pusher::master {

int cli_main(int argc, char** argv);

}  // namespace pusher::master
