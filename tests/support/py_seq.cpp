#include "tests/support/py_seq.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/php.h"

namespace pusher::testing {

static Json::Value parse(const std::string& s) {
    Json::Value v;
    Json::CharReaderBuilder b;
    std::string errs;
    std::istringstream in(s);
    return Json::parseFromStream(b, in, &v, &errs) ? v : Json::Value();
}

PySeq::PySeq(int port, int clients, const std::string& ping_args) {
    std::string cmd = "/usr/bin/python3 " + source_dir() + "/tests/clients/py_seq.py " +
                      std::to_string(port) + " " + std::to_string(clients) + " " + ping_args +
                      " 2>&1";
    f_ = popen(cmd.c_str(), "r");
    std::string line = read_line();
    welcomes_ = parse(line);
    if (!welcomes_.isArray()) ADD_FAILURE() << "py_seq.py: " << line;
}

PySeq::~PySeq() {
    if (f_) pclose(f_);
}

Json::Value PySeq::results() {
    std::string line = read_line();
    Json::Value r = parse(line);
    if (!r.isArray()) ADD_FAILURE() << "py_seq.py: " << line;
    pclose(f_);
    f_ = nullptr;
    return r;
}

std::string PySeq::read_line() {
    std::string line;
    static char b[1 << 16];
    while (f_ && fgets(b, sizeof b, f_)) {
        line += b;
        if (!line.empty() && line.back() == '\n') break;
    }
    return line;
}

}  // namespace pusher::testing
