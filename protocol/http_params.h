// Request parameters of the publish API, as PHP would see them: the query
// string ($_GET), a form body ($_POST) or a JSON object body. Later sources
// win, and within one source the last duplicate wins, as in PHP.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/http_request.h"

namespace pusher::protocol {

using Params = std::map<std::string, std::string>;
// Parameters given as lists: "key[]=a&key[]=b" (PHP's way) or a JSON array.
using ParamLists = std::map<std::string, std::vector<std::string>>;

// application/x-www-form-urlencoded: '+' is a space, %XX a byte, a malformed
// escape stays as it is (PHP's urldecode).
std::string url_decode(std::string_view s);
void parse_urlencoded(std::string_view s, Params* out, ParamLists* lists = nullptr);
// Merges query, then a form or JSON body. false: the body claims JSON but is
// not a JSON object (*error says why). A JSON object value arrives as its
// compact JSON text; arrays of scalars and "key[]" pairs go to *lists.
bool request_params(const HttpRequest& req, Params* out, std::string* error,
                    ParamLists* lists = nullptr);
// The list named key: from *lists if given that way, else Params' value split
// at commas. Empty items are skipped.
std::vector<std::string> param_list(const Params& p, const ParamLists& lists,
                                    const std::string& key);

}  // namespace pusher::protocol
